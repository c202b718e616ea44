import type { RunnableConfig } from "@langchain/core/runnables";
import { spendSoFar } from "../src/cost/budget.ts";
import { createStepRecorder, recordRunStart } from "../src/cost/recorder.ts";
import type { ExecutorDeps, RunBudget } from "../src/engine/schedule.ts";
import type { ExecState, ExecUpdate } from "../src/engine/state.ts";
import type { RunState } from "../graphs/state.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { totalUsd } from "./usage.ts";

/** Something that runs the executor graph (graphs/executor.ts builds it; agents never import graphs). */
export type ExecutorRunner = (deps: ExecutorDeps) => { invoke(input: Partial<ExecState>, config?: RunnableConfig): Promise<unknown> };

/**
 * The execute node: the executor graph, invoked with this node's config so it checkpoints as a
 * subgraph of the run (a resumed run does not call finished steps again, and the running-budget
 * interrupt inside it pauses the whole run). Around it, the cost library: the run is recorded as
 * started (an idempotent write: this node runs again on resume), every finished step lands in the
 * ledger as it finishes, and the gate holds calls once the run has spent what it was allowed.
 */
export function executeNode(deps: OrchestratorDeps, runExecutor: ExecutorRunner) {
  return async (state: RunState, config?: RunnableConfig): Promise<ExecUpdate> => {
    const runId = String(config?.configurable?.["thread_id"] ?? "");
    const prepared = state.prepared!;
    const ledger = deps.ledger;
    const recorder = ledger && runId ? createStepRecorder(ledger, runId, prepared) : undefined;
    if (ledger && runId) {
      const forecast = state.forecast ? { durationMs: state.forecast.durationMs, usd: state.forecast.usd } : undefined;
      await recordRunStart(ledger, { runId, request: state.request || undefined, plan: prepared.plan.name, forecast, startedAt: deps.now?.() ?? Date.now() });
    }
    const executor = runExecutor({
      context: deps.context,
      stopSignal: deps.stopSignal,
      cancelSignal: deps.cancelSignal,
      budget: await runBudget(state, deps, runId),
      onEvent: (event) => {
        recorder?.onEvent(event);
        deps.onEvent?.(event);
      },
    });
    const { plan, params, scheduler, mcpConfigPath, allowDestructive } = state;
    try {
      return (await executor.invoke({ plan, params, scheduler, mcpConfigPath, allowDestructive, prepared }, config)) as ExecUpdate;
    } finally {
      await recorder?.flush().catch(() => {});
    }
  };
}

/** What the run may spend: `--budget`, else the approved forecast (p90), at least the approval threshold. */
async function runBudget(state: RunState, deps: OrchestratorDeps, runId: string): Promise<RunBudget> {
  const caps = deps.config.budgets;
  const ledger = deps.ledger;
  const spent = ledger ? await spendSoFar(ledger, deps.now?.() ?? Date.now()) : { today: 0, month: 0 };
  // What this run already spent (before a resume) is counted with its steps, not as other runs' spend.
  const own = ledger && runId ? (await ledger.runSpend(runId)).usd : 0;
  return {
    caps,
    spentToday: Math.max(0, spent.today - own),
    spentThisMonth: Math.max(0, spent.month - own),
    runLimitUsd: Math.max(state.budgetUsd ?? state.forecast?.usd.p90 ?? 0, caps.approvalUsd),
    otherUsd: totalUsd(state.usage),
  };
}

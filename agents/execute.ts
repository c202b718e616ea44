import type { RunnableConfig } from "@langchain/core/runnables";
import { createBudgetGuard, spendSoFar } from "../src/cost/budget.ts";
import { budgetGate, type BudgetGate } from "../src/cost/gate.ts";
import { createStepRecorder, recordRunStart, type StepRecorder } from "../src/cost/recorder.ts";
import type { RunContext } from "../src/engine/run-step.ts";
import type { ExecState, ExecutorDeps } from "../src/engine/schedule.ts";
import { validatePlan } from "../src/plan/validate.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { totalUsd } from "./usage.ts";
import type { OrchestratorView } from "./types.ts";

/** Something that runs the executor graph (graphs/executor.ts builds it; agents never import graphs). */
export type ExecutorRunner = (deps: ExecutorDeps) => { invoke(input: Partial<ExecState>, config?: RunnableConfig): Promise<unknown> };

/**
 * The execute node: the executor graph, invoked with this node's config so it checkpoints as a
 * subgraph of the run (a resumed run does not call finished steps again). Around it, the cost
 * library: the run is recorded as started, every finished step lands in the ledger as it finishes,
 * and, when someone can be asked (`deps.askBudget`), the running-budget gate holds new tool calls
 * once the run has spent more than it was allowed and asks; declining stops and rolls back.
 */
export function executeNode(deps: OrchestratorDeps, runExecutor: ExecutorRunner) {
  return async (state: OrchestratorView, config?: RunnableConfig): Promise<Partial<ExecState>> => {
    const runId = String(config?.configurable?.["thread_id"] ?? "");
    const ctx = await deps.context();
    const validation = validatePlan(state.plan, { tools: ctx.caller.tools, params: state.params });
    const ledger = deps.ledger;
    let recorder: StepRecorder | undefined;
    if (ledger && runId && validation.ok) {
      const forecast = state.forecast ? { durationMs: state.forecast.durationMs, usd: state.forecast.usd } : undefined;
      await recordRunStart(ledger, { runId, request: state.request, plan: validation.prepared.plan.name, forecast, startedAt: deps.now?.() ?? Date.now() });
      recorder = createStepRecorder(ledger, runId, validation.prepared);
    }
    const declined = new AbortController();
    const stopSignal = deps.stopSignal ? AbortSignal.any([deps.stopSignal, declined.signal]) : declined.signal;
    const gate = deps.askBudget ? await gateFor(state, ctx, deps, recorder, stopSignal, () => declined.abort()) : undefined;
    const context: RunContext = gate ? { ...ctx, caller: gate } : ctx;
    const executor = runExecutor({
      context: async () => context,
      stopSignal,
      onEvent: (event) => {
        recorder?.onEvent(event);
        gate?.onEvent(event);
        deps.onEvent?.(event);
      },
    });
    const { plan, params, scheduler, mcpConfigPath, allowDestructive } = state as OrchestratorView & Pick<ExecState, "scheduler"> & { mcpConfigPath?: string };
    try {
      return (await executor.invoke({ plan, params, scheduler, mcpConfigPath, allowDestructive } as Partial<ExecState>, config)) as Partial<ExecState>;
    } finally {
      await recorder?.flush().catch(() => {});
    }
  };
}

/** What the run may spend: `--budget`, else the approved forecast (p90), at least the approval threshold. */
async function gateFor(
  state: OrchestratorView,
  ctx: RunContext,
  deps: OrchestratorDeps,
  recorder: StepRecorder | undefined,
  stopSignal: AbortSignal,
  onDecline: () => void,
): Promise<BudgetGate> {
  const caps = deps.config.budgets;
  const spent = deps.ledger ? await spendSoFar(deps.ledger, deps.now?.() ?? Date.now()) : { today: 0, month: 0 };
  const modelUsd = totalUsd(state.usage);
  const guard = createBudgetGuard({
    caps,
    spentToday: spent.today,
    spentThisMonth: spent.month,
    runSpentUsd: () => modelUsd + (recorder?.usd() ?? 0),
    runLimitUsd: Math.max(state.budgetUsd ?? state.forecast?.usd.p90 ?? 0, caps.approvalUsd),
  });
  return budgetGate(ctx.caller, { guard, ask: (message) => deps.askBudget!(message), onDecline, stopSignal });
}

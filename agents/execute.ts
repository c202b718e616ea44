import type { RunnableConfig } from "@langchain/core/runnables";
import { createStepRecorder, recordRunStart } from "../src/cost/recorder.ts";
import { isBudgetReservationError, type Reservation } from "../src/cost/reservations.ts";
import type { ExecutorDeps, RunBudget } from "../src/engine/schedule.ts";
import type { ExecState } from "../src/engine/state.ts";
import type { RunState, RunUpdate } from "../graphs/state.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { canReplan, finishedResults } from "./replan.ts";
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
  return async (state: RunState, config?: RunnableConfig): Promise<RunUpdate> => {
    const runId = String(config?.configurable?.["thread_id"] ?? "");
    // After a failure whose rollback waited for a replan: go on with the replan once approved (the
    // finished steps carried, not called again), else roll back exactly what the halted execution did.
    const halted = state.halted;
    const rollingBack = halted !== undefined && (halted.next !== "continue" || state.approval?.approved !== true || state.outcome !== undefined);
    const prepared = rollingBack ? halted.prepared : state.prepared!;
    // Streamed steps are carried as they ended (a failure among them is the run's failure); after a replan only what succeeded.
    const carried = halted ? (rollingBack || halted.by === "stream" ? halted.results : finishedResults(halted.results)) : undefined;
    const deferRollback = !rollingBack && canReplan(state, deps);
    const ledger = deps.ledger;
    const tools = (await deps.context()).caller.tools;
    const recorder = ledger && runId ? createStepRecorder(ledger, runId, prepared, { pricing: deps.pricing, tools }) : undefined;
    let reservation: Reservation | undefined;
    if (ledger && runId) {
      // Held in the ledger against the caps for every other run to see; again on resume (it replaces itself).
      try {
        reservation = await ledger.reserve({ runId, usd: state.forecast?.usd.p90 ?? 0, caps: deps.config.budgets });
      } catch (error) {
        if (!isBudgetReservationError(error)) throw error;
        return { outcome: "rejected", planProblems: [error.message] };
      }
      const forecast = state.forecast ? { durationMs: state.forecast.durationMs, usd: state.forecast.usd } : undefined;
      await recordRunStart(ledger, { runId, request: state.request || undefined, plan: prepared.plan.name, forecast, startedAt: deps.now?.() ?? Date.now() });
    }
    const executor = runExecutor({
      context: deps.context,
      stopSignal: deps.stopSignal,
      cancelSignal: deps.cancelSignal,
      budget: runBudget(state, deps, runId),
      onEvent: (event) => {
        recorder?.onEvent(event);
        deps.onEvent?.(event);
      },
    });
    const { params, scheduler, mcpConfigPath, allowDestructive, breakBefore } = state;
    try {
      const undoAll = rollingBack && halted.by === "stream";
      const input = { plan: prepared.plan, params, scheduler, mcpConfigPath, allowDestructive, prepared, breakBefore, carried, deferRollback, undoAll };
      const done = (await executor.invoke(input, config)) as ExecState;
      await recorder?.flush();
      // The run ended (not paused at a question): its reservation shrinks to what it spent.
      if (done.status !== "failed") await reservation?.settle();
      const { carried: _carried, deferRollback: _defer, undoAll: _undo, plan: _plan, ...rest } = done;
      return { ...rest, halted: done.status === "failed" ? { prepared, results: done.results, by: "failure" } : undefined };
    } finally {
      await recorder?.flush().catch(() => {});
    }
  };
}

/**
 * What the run may spend: `--budget`, else the approved forecast (p90), at least the approval threshold;
 * against the caps, with every other run's spend and reservations read live before each call.
 */
function runBudget(state: RunState, deps: OrchestratorDeps, runId: string): RunBudget {
  const caps = deps.config.budgets;
  const ledger = deps.ledger;
  return {
    caps,
    spentToday: 0,
    spentThisMonth: 0,
    runLimitUsd: Math.max(state.budgetUsd ?? state.forecast?.usd.p90 ?? 0, caps.approvalUsd),
    otherUsd: totalUsd(state.usage),
    committed: ledger ? () => ledger.committedSpend(runId) : undefined,
  };
}

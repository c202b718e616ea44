import type { StepEvent } from "../engine/schedule.ts";
import { ToolCallError, type CallOptions, type ToolCaller } from "../mcp/client.ts";
import type { BudgetGuard } from "./budget.ts";

export interface BudgetGateOptions {
  guard: BudgetGuard;
  /**
   * Asks the person whether to go on past the budget (`message` names the numbers); true = go on.
   * Called after the calls already in flight have finished, one question at a time.
   */
  ask(message: string): Promise<boolean>;
  /**
   * Called once when the person declines: abort the executor's stop signal here, so no new step
   * starts and the finished ones are rolled back.
   */
  onDecline?(): void;
  /** The executor's stop signal: once aborted the run is winding down (see budgetGate). */
  stopSignal?: AbortSignal;
}

export interface BudgetGate extends ToolCaller {
  /** Chain into the executor's `onEvent`: a failed step means the run is winding down. */
  onEvent(event: StepEvent): void;
  /** True once the person declined to go on. */
  declined(): boolean;
}

type Answer = "go" | "declined" | "stopping";

/**
 * The running budget on the executor's side, as a ToolCaller wrapper. Before every tool call the
 * guard is checked; when it says no, the call (and every call after it) is held, the calls already
 * in flight finish, then the person is asked. Approval lets the held calls start; declining fails
 * them (not retryable) and calls `onDecline`. Once the run winds down (declined, stopped, or a step
 * failed) held calls fail without asking, and new calls — the rollbacks — are never held.
 * Wire it as the run context's `caller`, and its `onEvent` into the executor's.
 */
export function budgetGate(caller: ToolCaller, options: BudgetGateOptions): BudgetGate {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let question: Promise<Answer> | undefined;
  let declined = false;
  let failed = false;
  const windingDown = (): boolean => declined || failed || options.stopSignal?.aborted === true;

  const waitForInFlight = (): Promise<void> => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve)));

  const ask = async (message: string): Promise<Answer> => {
    await waitForInFlight();
    if (windingDown()) return "stopping";
    if (await options.ask(message)) {
      options.guard.approve();
      return "go";
    }
    declined = true;
    options.onDecline?.();
    return "declined";
  };

  const admit = async (server: string, tool: string): Promise<void> => {
    for (;;) {
      const verdict = options.guard.check();
      if (verdict.ok) return;
      question ??= ask(verdict.message).finally(() => (question = undefined));
      const answer = await question;
      if (answer === "go" && !windingDown()) continue;
      const why = answer === "go" || answer === "stopping" ? "the run is stopping" : "declined";
      throw new ToolCallError("TOOL_ERROR", `${server}.${tool} not started: ${verdict.message}; ${why}`, false);
    }
  };

  return {
    get tools() {
      return caller.tools;
    },
    onEvent: (event) => {
      if (event.type === "step_finished" && event.result.status === "failed") failed = true;
    },
    declined: () => declined,
    async call(server: string, tool: string, args: Record<string, unknown>, callOptions?: CallOptions): Promise<unknown> {
      // Admitted at once (no await), so the call counts as in flight before anyone can ask.
      if (!windingDown() && !options.guard.check().ok) await admit(server, tool);
      inFlight++;
      try {
        return await caller.call(server, tool, args, callOptions);
      } finally {
        inFlight--;
        if (inFlight === 0) {
          drained?.();
          drained = undefined;
        }
      }
    },
  };
}

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
}

export interface BudgetGate extends ToolCaller {
  /** True once the person declined to go on. */
  declined(): boolean;
}

/**
 * The running budget on the executor's side, as a ToolCaller wrapper: before every tool call the
 * guard is checked; when it says no, the call (and every call after it) is held, the calls already
 * in flight finish, then the person is asked. Approval lets the held calls start; declining fails
 * them (not retryable) and calls `onDecline`; calls after a decline (compensations) pass through.
 * Wire it as the run context's `caller`.
 */
export function budgetGate(caller: ToolCaller, options: BudgetGateOptions): BudgetGate {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let question: Promise<boolean> | undefined;
  let declined = false;

  const waitForInFlight = (): Promise<void> =>
    inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));

  const askOnce = (message: string): Promise<boolean> => {
    question ??= waitForInFlight()
      .then(() => options.ask(message))
      .then((yes) => {
        if (yes) options.guard.approve();
        else if (!declined) {
          declined = true;
          options.onDecline?.();
        }
        return yes;
      })
      .finally(() => (question = undefined));
    return question;
  };

  const admit = async (server: string, tool: string): Promise<void> => {
    for (;;) {
      if (declined) return;
      const verdict = options.guard.check();
      if (verdict.ok) return;
      if (!(await askOnce(verdict.message))) throw new ToolCallError("TOOL_ERROR", `${server}.${tool} not started: ${verdict.message}; declined`, false);
    }
  };

  return {
    get tools() {
      return caller.tools;
    },
    declined: () => declined,
    async call(server: string, tool: string, args: Record<string, unknown>, callOptions?: CallOptions): Promise<unknown> {
      await admit(server, tool);
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

import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { canonicalJson, sha256 } from "../hash.ts";
import type { Step } from "../plan/schema.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { measuredUsd } from "../cost/recorder.ts";
import { createCallGate } from "../policy/gate.ts";
import { runStep, type RunContext, type StepResult } from "./run-step.ts";
import { nodeJournal } from "./step-journal.ts";
import type { StepEvent } from "./step-event.ts";

export interface EarlyStepOptions {
  /** Cancels calls in flight (Ctrl-C twice); no new step starts once aborted. */
  signal?: AbortSignal;
  /** No new step starts once aborted (Ctrl-C). */
  stopSignal?: AbortSignal;
  onEvent?(event: StepEvent): void;
  /**
   * What started steps may spend: once the finished ones have cost this much (measured, else declared),
   * a step about to call is held instead, and the executor's running budget decides about it.
   */
  limitUsd?: number;
  /**
   * Writes a finished step to the ledger. Awaited inside the step's task, so the step's saved result
   * exists only once it is recorded, and a resumed node (which gets the saved result) records nothing again.
   */
  record?(step: Step, result: StepResult, prepared: PreparedPlan): Promise<void>;
  /**
   * The config of the node the steps run in (the architect's): each finished step is journaled in it
   * (step-journal.ts) before a dependent starts, and traced under it as `step:<id>`.
   */
  node?: LangGraphRunnableConfig;
}

/** Steps started before their plan has fully arrived, each the moment its dependencies (also started here) are done. */
export interface EarlySteps {
  /** Starts `step` (its dependencies must have been started here); `prepared` holds it and those dependencies. */
  start(step: Step, prepared: PreparedPlan): void;
  /**
   * The step as it was first given under this id in this node, journaled: a node that runs again (resume
   * after a kill) gets back the step that started then, even when the model now writes it differently.
   */
  pin(id: string, step: Step): Promise<Step>;
  /** Ids started so far, in the order they started. */
  readonly started: readonly string[];
  /** Every started step's result, once all have finished. */
  settle(): Promise<Record<string, StepResult>>;
}

/**
 * A source of steps for a plan that is still arriving (the architect streams it): the same step runner
 * and the same policy gate as the executor, never destructive calls (the caller offers only steps that
 * need no approval). Each step is journaled under its id and a hash of its definition, so a node that
 * runs again after a kill gets a finished step's saved result instead of calling it again — as long
 * as the model sends the same step again; a changed step is a different entry.
 * Its results are handed to the executor, which treats them as done (`carried`).
 */
export function earlySteps(ctx: RunContext, options: EarlyStepOptions = {}): EarlySteps {
  const gate = createCallGate({ tools: ctx.caller.tools, allow: ctx.allow, untrusted: ctx.untrusted, allowDestructive: false });
  const promises = new Map<string, Promise<StepResult>>();
  const started: string[] = [];
  const stopped = (): boolean => options.stopSignal?.aborted === true || options.signal?.aborted === true;
  const journal = nodeJournal(options.node);
  journal.catch(() => {});
  // What the steps finished here have cost (measured, else declared), as a running sum.
  let spent = 0;
  const run = async (step: Step, prepared: PreparedPlan): Promise<StepResult> => {
    const resolved = prepared.tools[step.id]!;
    const tool = `${resolved.server}.${resolved.tool}`;
    const notRun = (status: "held" | "skipped", reason: string): StepResult => {
      const now = Date.now();
      return { id: step.id, tool, status, attempts: 0, startedAtMs: now, endedAtMs: now, reason };
    };
    const depResults = await Promise.all((prepared.deps[step.id] ?? []).map((d) => promises.get(d)!));
    const waiting = depResults.find((r) => r.status === "held");
    if (waiting) return notRun("held", `waiting for "${waiting.id}", held by the budget`);
    const bad = depResults.find((r) => r.status !== "succeeded");
    if (bad || stopped()) return notRun("skipped", bad ? `dependency "${bad.id}" ${bad.status}` : "the run was stopped");
    if (options.limitUsd !== undefined && spent >= options.limitUsd) return notRun("held", `steps started while the plan streamed have spent $${spent.toFixed(2)}: waits for the run's budget`);
    options.onEvent?.({ type: "step_started", id: step.id, tool });
    const scope = { steps: Object.fromEntries(depResults.map((r) => [r.id, r.output])), params: prepared.params };
    const result = await runStep(step, resolved, scope, { ...ctx, gate, signal: options.signal });
    if (result.status === "succeeded" || result.status === "failed") spent += measuredUsd(result.output) ?? step.estimate?.usd ?? 0;
    await options.record?.(step, result, prepared);
    options.onEvent?.({ type: "step_finished", result });
    return result;
  };
  return {
    started,
    start(step, prepared) {
      const key = `early:${step.id}:${sha256(canonicalJson(step)).slice(0, 12)}`;
      const promise = journal.then((j) => j.run(key, { name: `step:${step.id}`, metadata: { step_id: step.id } }, () => run(step, prepared)));
      promise.catch(() => {});
      promises.set(step.id, promise);
      started.push(step.id);
    },
    pin: (id, step) => journal.then((j) => j.run(`pinned:${id}`, undefined, async () => step)),
    async settle() {
      const results = await Promise.all(promises.values());
      return Object.fromEntries(results.map((r) => [r.id, r]));
    },
  };
}

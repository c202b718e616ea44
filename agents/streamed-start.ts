import type { StepResult } from "../src/engine/run-step.ts";
import { canonicalJson } from "../src/hash.ts";
import { earlySteps, type EarlyStepOptions } from "../src/engine/early-steps.ts";
import type { RunContext } from "../src/engine/run-step.ts";
import type { Step } from "../src/plan/schema.ts";
import { validatePlan, type PreparedPlan, type StepVerdict, type ValidateOptions } from "../src/plan/validate.ts";

export interface StreamedStartOptions extends EarlyStepOptions {
  ctx: RunContext;
  rules: ValidateOptions;
  /** The run's approval threshold in USD (the lower of --budget and the configured approval threshold). */
  thresholdUsd: number;
  /** The running forecast (p90 USD) of the steps started so far plus a candidate. */
  forecastUsd(prepared: PreparedPlan): Promise<number>;
}

/** What became of a streamed step: started while the plan streamed, or why not. */
export type StartDecision = { started: true } | { started: false; reason: string };

export interface StreamedStart {
  /** A step's JSON is complete (`plan` is the plan as far as it arrived, decoded); decided in arrival order. */
  offer(plan: Record<string, unknown>, index: number, verdict: StepVerdict): void;
  /** Per step id, what was decided. */
  readonly decisions: ReadonlyMap<string, StartDecision>;
  /** Why starting stopped (the first step that crossed a limit, or an invalid step), if it did. */
  readonly closedBy: string | undefined;
  /** Waits until every step offered so far has been decided. */
  decided(): Promise<void>;
  /** Waits for the decisions and for every started step; their results by id, the steps as they started, and the plan parameters they were validated with. */
  finish(): Promise<{ results: Record<string, StepResult>; steps: Step[]; params: unknown }>;
}

/**
 * Executing while the plan streams, with the safety rules:
 * - a valid step starts at once when it is not destructive (nor its rollback), every dependency started
 *   here too, and the running forecast of what started stays under the approval threshold;
 * - the first step that would cross either limit closes the gate: it and everything after it wait for
 *   the whole plan and its approval;
 * - an invalid step closes the gate too (it goes to repair after the stream, as before);
 * - a step naming an id that has not arrived waits (not started), and is judged when the plan ends.
 * Decisions are made one at a time in arrival order (the forecast is async), so "first" means first in the plan.
 */
export function streamedStart(options: StreamedStartOptions): StreamedStart {
  const runner = earlySteps(options.ctx, options);
  const accepted: Step[] = [];
  const decisions = new Map<string, StartDecision>();
  let closedBy: string | undefined;
  // The plan's parameters as they stood when the last step started (the started steps may read them).
  let params: unknown;
  let chain: Promise<void> = Promise.resolve();
  const stopped = (): boolean => options.stopSignal?.aborted === true || options.signal?.aborted === true;

  async function consider(plan: Record<string, unknown>, index: number, verdict: StepVerdict): Promise<void> {
    const raw = (plan["steps"] as unknown[])[index] as { id?: unknown };
    const id = typeof raw?.id === "string" ? raw.id : `#${index}`;
    const hold = (reason: string, close = false): void => {
      decisions.set(id, { started: false, reason });
      if (close && closedBy === undefined) closedBy = `"${id}": ${reason}`;
    };
    if (closedBy !== undefined) return hold(`held behind ${closedBy}`);
    if (stopped()) return hold("the run was stopped", true);
    if (verdict.status === "invalid") return hold("invalid: goes to repair once the plan has arrived", true);
    if (verdict.status === "waiting") return hold("names a step or parameter that has not arrived: judged when the plan ends");
    const name = typeof plan["name"] === "string" && plan["name"] !== "" ? plan["name"] : "(arriving)";
    // Only steps whose dependencies all started here can start: validated together, as one small plan.
    const validation = validatePlan({ name, params: plan["params"], steps: [...accepted, raw] }, { ...options.rules, params: {} });
    if (!validation.ok) return hold("depends on a step that did not start while the plan streamed");
    const prepared = validation.prepared;
    if (prepared.needsApproval.some((entry) => entry === id || entry === `${id} (rollback)`)) return hold("destructive: needs the whole plan and its approval", true);
    const usd = await options.forecastUsd(prepared);
    if (usd > options.thresholdUsd) return hold(`the running forecast ($${usd.toFixed(4)}) would cross the approval threshold ($${options.thresholdUsd.toFixed(2)})`, true);
    // A node that runs again (resume after a kill) gets back the step as it first started here: when the
    // model now writes it differently, what ran is the old step, so that one starts again (its saved
    // result comes back, nothing is called) and the architect's check of started steps against the
    // final plan rolls it back, instead of the new step running beside an old resource nobody undoes.
    const latest = prepared.plan.steps.at(-1)!;
    const first = await runner.pin(id, latest);
    const again = canonicalJson(first) === canonicalJson(latest) ? undefined : validatePlan({ name, params: plan["params"], steps: [...accepted, first] }, { ...options.rules, params: {} });
    const [step, from] = again?.ok ? [again.prepared.plan.steps.at(-1)!, again.prepared] : [latest, prepared];
    accepted.push(step);
    params = plan["params"];
    runner.start(step, from);
    decisions.set(id, { started: true });
  }

  return {
    offer(plan, index, verdict) {
      chain = chain.then(() => consider(plan, index, verdict)).catch(() => undefined);
    },
    decisions,
    get closedBy() {
      return closedBy;
    },
    async decided() {
      await chain;
    },
    async finish() {
      await chain;
      return { results: await runner.settle(), steps: [...accepted], params };
    },
  };
}

import { Command } from "@langchain/langgraph";
import type { ApprovalAnswer, ApprovalRequest, BudgetRequest, PlanStepEvent, Report } from "../../agents/types.ts";
import type { RunState } from "../../graphs/state.ts";
import { CostCallbackHandler } from "../cost/callbacks.ts";
import { maskSecrets } from "../secrets.ts";
import { breakpointOf, type BreakpointRequest } from "./breakpoint.ts";
import type { Root, RunHooks } from "./root.ts";

/** Every question a run can stop at: the approval before it, the running budget during it, a breakpoint before a step. */
export type RunQuestion = ApprovalRequest | BudgetRequest | BreakpointRequest;

/** What a run starts from: a request (the architect plans it), or a plan (a file, a workflow). */
export interface RunInput {
  request?: string;
  plan?: unknown;
  planner?: RunState["planner"];
  params?: Record<string, unknown>;
  session?: string;
  budgetUsd?: number;
  dryRun?: boolean;
  autoApprove?: boolean;
  allowDestructive?: boolean;
  fresh?: boolean;
  confirm?: boolean;
  scheduler?: RunState["scheduler"];
  /** A "did you mean" pick: the catalog planner plans the request with this workflow. */
  pickedWorkflow?: string;
  /** Steps to pause before (graph scheduler). */
  breakBefore?: string[];
  mcpConfigPath?: string;
}

/** How a client takes part in a run: it sees progress and answers the questions (or cannot, now). */
export interface RunClient extends RunHooks {
  /** The plan and its forecast are known (before approval and execution). */
  onPlanned?(state: RunState): void;
  /** A step of a streamed plan is complete (the model is still writing the rest): shown live. */
  onPlanStep?(step: PlanStepEvent): void;
  /** Answers a question; undefined when nobody can answer now: the run pauses, resumable. */
  answer?(question: RunQuestion): Promise<ApprovalAnswer | undefined>;
  /** The queue worker driving the run: recorded in the run's state (`worker`) with its input or answer. */
  worker?: string;
}

export type DriveResult =
  | { kind: "finished"; state: RunState; report: Report }
  | { kind: "waiting"; state: RunState; question: RunQuestion };

/** The run stopped because its state could not be saved; what finished is kept, `resume` continues. */
export class RunInterruptedError extends Error {
  readonly code = "RUN_INTERRUPTED";
  constructor(threadId: string, checkpointer: string, cause: unknown) {
    const reason = maskSecrets(reasonOf(cause));
    super(`the run on thread "${threadId}" stopped: ${reason} (checkpointer ${checkpointer}). Finished steps are saved; once the checkpointer is reachable, continue with: credit-optimizer resume ${threadId}`, { cause });
    this.name = "RunInterruptedError";
  }
}

/** What went wrong: LangGraph wraps the errors of a superstep's tasks in one "Multiple errors occurred" AggregateError. */
function reasonOf(cause: unknown): string {
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    const reasons = [...new Set(cause.errors.map(reasonOf))];
    return reasons.length > 3 ? `${reasons.slice(0, 3).join("; ")}; and ${reasons.length - 3} more` : reasons.join("; ");
  }
  return cause instanceof Error ? cause.message : String(cause);
}

/** A thread that cannot be resumed, with why (exit 2). */
export class ThreadError extends Error {
  readonly code = "THREAD";
  constructor(message: string) {
    super(message);
    this.name = "ThreadError";
  }
}

/**
 * Drives the orchestrator on one thread (under its lock) from `input` — a new run, `null` to go on
 * from where it stopped, or a person's answer — until it finishes or waits for an answer nobody can
 * give now. A breakpoint is answered by going on (the graph resumes past `interruptBefore`) or by
 * stopping as Ctrl-C does: no new step starts, finished steps roll back.
 */
export async function drive(root: Root, threadId: string, input: RunInput | null | ApprovalAnswer, client: RunClient = {}): Promise<DriveResult> {
  const lock = await root.lock(threadId);
  try {
    let next: unknown = isAnswer(input) ? answerCommand(input, client) : input && client.worker ? { ...input, worker: client.worker } : input;
    let hooks = client;
    if (isAnswer(input) && (await breakpointOf(root.checkpointer.saver, threadId))) [next, hooks] = [null, input.approved ? client : stopped(client)];
    let planned = false;
    for (;;) {
      const state = await invokeOnce(root, threadId, next, hooks, (s) => {
        if (planned || !s.forecast || !s.decision) return;
        planned = true;
        client.onPlanned?.(s);
      });
      const graph = root.graph();
      const snapshot = await graph.getState({ configurable: { thread_id: threadId } });
      const asked = snapshot.tasks.flatMap((t) => t.interrupts).map((i) => i.value as RunQuestion)[0];
      const question = asked ?? (snapshot.next.length > 0 ? await breakpointOf(root.checkpointer.saver, threadId) : undefined);
      if (!question) return { kind: "finished", state, report: state.report! };
      const answer = client.answer ? await client.answer(question) : undefined;
      if (answer === undefined) return { kind: "waiting", state, question };
      if (question.kind === "breakpoint") [next, hooks] = [null, answer.approved ? client : stopped(client)];
      else next = answerCommand(answer, client);
    }
  } finally {
    await lock.release();
  }
}

/**
 * Continues any thread: answers the question it waits at (`answer`, or the client's), goes on after a
 * kill, runs a stopped (Ctrl-C, rolled back) run again from its approved plan, or returns a finished
 * run's report.
 */
export async function resume(root: Root, threadId: string, client: RunClient = {}, answer?: ApprovalAnswer): Promise<DriveResult> {
  const graph = root.graph();
  const config = { configurable: { thread_id: threadId } };
  const tuple = await root.checkpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  if (!tuple) throw new ThreadError(`no run found on thread "${threadId}" in ${root.checkpointer.description}`);
  if (isExecutorOnlyThread(Object.keys(tuple.checkpoint.channel_versions))) {
    throw new ThreadError(
      `thread "${threadId}"${planName(tuple.checkpoint.channel_values)} was started by an earlier version that ran plans without the orchestrator; it cannot be resumed. Its finished steps are in ${root.checkpointer.description}; run the plan again with credit-optimizer run --plan <file>`,
    );
  }
  const snapshot = await graph.getState(config);
  const waiting = snapshot.tasks.some((t) => t.interrupts.length > 0);
  if (waiting) return drive(root, threadId, answer ?? null, client);
  // Paused at a breakpoint, or killed: go on; a breakpoint answered "no" stops and rolls back.
  if (snapshot.next.length > 0) return drive(root, threadId, answer && (await breakpointOf(root.checkpointer.saver, threadId)) ? answer : null, client);
  const values = snapshot.values as RunState;
  if (values.status === "cancelled") {
    // Stopped with Ctrl-C and rolled back: run the approved plan again from the start.
    await graph.updateState(config, { results: null, compensations: [], outcomes: [], status: "pending", outcome: undefined, report: undefined }, "approve");
    return drive(root, threadId, null, client);
  }
  if (values.report) return { kind: "finished", state: values, report: values.report };
  throw new ThreadError(`thread "${threadId}" has nothing to resume`);
}

function planName(values: Record<string, unknown>): string {
  const name = (values["plan"] as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? ` (plan ${JSON.stringify(name)})` : "";
}

/** Threads written by the executor graph alone (before every run went through the orchestrator). */
function isExecutorOnlyThread(channels: readonly string[]): boolean {
  return channels.some((c) => /^(branch:to:)?(prepare|runAsap|dispatch|runStep)$/.test(c)) && !channels.some((c) => /^(branch:to:)?(credit_validator|reporter|approve)$/.test(c));
}

/** The client's hooks with the run stopped, as by Ctrl-C: nothing new starts, finished steps roll back. */
function stopped(client: RunClient): RunClient {
  return { ...client, stopSignal: AbortSignal.abort(new Error("stopped at a breakpoint")) };
}

/** Resumes with an answer; a worker's answer also records it as the run's worker (same checkpoint: nothing else changes). */
function answerCommand(answer: ApprovalAnswer, client: RunClient): Command {
  return client.worker ? new Command({ resume: answer, update: { worker: client.worker } }) : new Command({ resume: answer });
}

function isAnswer(input: RunInput | ApprovalAnswer | null): input is ApprovalAnswer {
  return input !== null && typeof (input as ApprovalAnswer).approved === "boolean";
}

async function invokeOnce(root: Root, threadId: string, input: unknown, client: RunClient, onValues: (state: RunState) => void): Promise<RunState> {
  const graph = root.graph({ stopSignal: client.stopSignal, cancelSignal: client.cancelSignal, onEvent: client.onEvent });
  const costs = new CostCallbackHandler({ pricing: root.settings.pricing, ledger: root.ledger, runId: threadId });
  const config = {
    configurable: { thread_id: threadId },
    recursionLimit: 10_000,
    // Each checkpoint is saved before the next step starts: what a crash loses is only what was running.
    durability: "sync" as const,
    callbacks: [costs, ...root.tracing.callbacks],
    metadata: { thread_id: threadId },
    runName: "credit-optimizer",
  };
  try {
    // "custom": the architect's writer sends each streamed plan step as it completes.
    const stream = await graph.stream(input as never, { ...config, streamMode: ["values", "custom"] });
    for await (const [mode, chunk] of stream as AsyncIterable<[string, unknown]>) {
      if (mode === "values") onValues(chunk as RunState);
      else if ((chunk as { kind?: unknown } | null)?.kind === "plan_step") client.onPlanStep?.(chunk as PlanStepEvent);
    }
  } catch (error) {
    // Steps never throw: what reaches here is the checkpointer or the graph runtime failing.
    throw new RunInterruptedError(threadId, root.checkpointer.description, error);
  } finally {
    await costs.flush().catch(() => {});
  }
  const snapshot = await graph.getState({ configurable: { thread_id: threadId } });
  return snapshot.values as RunState;
}

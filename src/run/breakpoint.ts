import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { breakpointRequest, type BreakpointRequest } from "../engine/plan-route.ts";
import type { ExecState } from "../engine/state.ts";

export type { BreakpointRequest } from "../engine/plan-route.ts";

/**
 * The breakpoint a thread is paused at, if any. LangGraph's `interruptBefore` in the plan's own
 * graph (a subgraph of the executor's `runGraph`, itself inside the run's `execute`) surfaces on the
 * run's thread as an interrupt without a value, so the steps and their inputs are read from the plan
 * graph's newest checkpoint: the breakpoint steps it is about to start, when a channel changed since
 * the last pause was passed (LangGraph's own test; a resumed thread has marked them seen).
 */
export async function breakpointOf(saver: BaseCheckpointSaver, threadId: string): Promise<BreakpointRequest | undefined> {
  for await (const tuple of saver.list({ configurable: { thread_id: threadId } })) {
    const ns = String(tuple.config.configurable?.["checkpoint_ns"] ?? "");
    if (!/(^|\|)runGraph:[^|]*$/.test(ns)) continue;
    const { checkpoint } = tuple;
    const values = checkpoint.channel_values as Partial<ExecState>;
    if (!values.prepared || !values.breakBefore?.length) return undefined;
    const seen = checkpoint.versions_seen["__interrupt__"] ?? {};
    const changed = Object.entries(checkpoint.channel_versions).some(([channel, version]) => seen[channel] === undefined || version > seen[channel]!);
    return changed ? breakpointRequest(values.prepared, values.results ?? {}, values.breakBefore) : undefined;
  }
  return undefined;
}

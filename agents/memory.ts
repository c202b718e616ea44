import type { PlanMemo } from "../src/planner/index.ts";
import { emptyCheckpoint, uuid6, type BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/**
 * Per-agent threads: each agent keeps its own conversation per chat session
 * (`<session>/architect`, `<session>/credit-validator`, `<session>/reporter`) on the run's
 * checkpointer, so a session continues after a restart. Written with the saver directly (a
 * nested graph invoked inside a node would join the running graph's checkpoint namespace).
 */
export interface MemoryMessage {
  role: "user" | "assistant";
  content: string;
  /** When it was said (ms since epoch). */
  at: number;
  /** The offline planner's memo of the plan in `content`: the next turn's refinement edits it. */
  memo?: PlanMemo;
}

export interface AgentMemory {
  load(thread: string): Promise<MemoryMessage[]>;
  append(thread: string, messages: readonly MemoryMessage[]): Promise<void>;
}

export type AgentName = "architect" | "credit-validator" | "reporter";

/** `<session>/<agent>`: the thread an agent keeps for one chat session. */
export function agentThread(session: string, agent: AgentName): string {
  return `${session}/${agent}`;
}

/** Memory on a checkpointer: one checkpoint per append, channel `messages`. */
export function checkpointMemory(saver: BaseCheckpointSaver): AgentMemory {
  const configOf = (thread: string) => ({ configurable: { thread_id: thread, checkpoint_ns: "" } });
  const load = async (thread: string): Promise<MemoryMessage[]> => {
    const tuple = await saver.getTuple(configOf(thread));
    const messages = tuple?.checkpoint.channel_values["messages"];
    return Array.isArray(messages) ? (messages as MemoryMessage[]) : [];
  };
  return {
    load,
    async append(thread, messages) {
      const previous = await saver.getTuple(configOf(thread));
      const history = previous ? ((previous.checkpoint.channel_values["messages"] as MemoryMessage[] | undefined) ?? []) : [];
      const version = Number(previous?.checkpoint.channel_versions["messages"] ?? 0) + 1;
      const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1), ts: new Date().toISOString() };
      checkpoint.channel_values = { messages: [...history, ...messages] };
      checkpoint.channel_versions = { messages: version };
      const step = Number((previous?.metadata as { step?: number } | undefined)?.step ?? -1) + 1;
      await saver.put(previous?.config ?? configOf(thread), checkpoint, { source: "update", step, parents: {} }, { messages: version });
    },
  };
}

/** Memory that forgets: for graphs run without a session (LangGraph Studio, one-shot runs). */
export const noMemory: AgentMemory = {
  load: async () => [],
  append: async () => {},
};

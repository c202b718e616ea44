import type { BaseCheckpointSaver, LangGraphRunnableConfig } from "@langchain/langgraph";

/*
 * LangGraph saves a finished task's result (`putWrites`) in the background, a few microtasks after
 * the task's promise has already resolved for whoever awaits it. In an asap segment a dependent
 * could therefore call its tool before its dependency's result is on disk, and a crash in between
 * would make a resumed run call that dependency again. Here a dependent first waits until the
 * results it depends on are saved.
 */

const RETURN = "__return__";
/** In-flight `putWrites` of each saver, by `<thread>\0<step id>` of the step result they carry. */
const inFlight = new WeakMap<BaseCheckpointSaver, Map<string, Promise<unknown>>>();

function watch(saver: BaseCheckpointSaver): Map<string, Promise<unknown>> {
  let pending = inFlight.get(saver);
  if (pending) return pending;
  const writes = new Map<string, Promise<unknown>>();
  const putWrites = saver.putWrites.bind(saver);
  saver.putWrites = (config, values, taskId) => {
    const saving = putWrites(config, values, taskId);
    for (const [channel, value] of values) {
      const id = channel === RETURN ? (value as { id?: unknown } | null)?.id : undefined;
      if (typeof id !== "string") continue;
      const key = `${String(config.configurable?.thread_id)}\0${id}`;
      const settled = saving.then(
        () => {},
        () => {},
      );
      writes.set(key, settled);
      void settled.then(() => writes.get(key) === settled && writes.delete(key));
    }
    return saving;
  };
  inFlight.set(saver, writes);
  return writes;
}

/**
 * For a node's config: a function that resolves once the given steps' results are saved (or their
 * save failed: an unreachable checkpointer is reported by LangGraph itself). Without a saver it
 * resolves at once.
 */
export function savedResults(config: LangGraphRunnableConfig | undefined): (stepIds: string[]) => Promise<void> {
  const saver = config?.configurable?.["__pregel_checkpointer"] as BaseCheckpointSaver | undefined;
  if (!saver || typeof saver.putWrites !== "function") return async () => {};
  const writes = watch(saver);
  const thread = String(config?.configurable?.thread_id);
  return async (stepIds) => {
    if (stepIds.length === 0) return;
    // LangGraph commits a finished task (and starts its putWrites) in the microtasks after it resolves.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(stepIds.map((id) => writes.get(`${thread}\0${id}`)));
  };
}

import type { BaseCheckpointSaver, LangGraphRunnableConfig } from "@langchain/langgraph";

/*
 * LangGraph saves a finished task's result (`putWrites`) in the background, a few microtasks after
 * the task's promise has already resolved for whoever awaits it. In an asap segment a dependent
 * could therefore call its tool before its dependency's result is on disk, and a crash in between
 * would make a resumed run call that dependency again. Here a dependent first waits until the
 * results it depends on are saved.
 *
 * Most of the time they already are by the time a dependent asks. The result objects whose writes
 * have settled are remembered (weakly: a result held by nobody is forgotten with it), and a
 * dependent whose dependencies' results are all among them goes on at once; only a result not known
 * saved costs a turn of the event loop for its putWrites to start. On a busy machine that turn was
 * most of the time between a step ending and its dependent starting.
 */

const RETURN = "__return__";
/** In-flight `putWrites` of each saver, by `<thread>\0<step id>` of the step result they carry. */
const inFlight = new WeakMap<BaseCheckpointSaver, Map<string, Promise<unknown>>>();
/** Step results (the very objects a task returned) whose putWrites has settled, on any saver. */
const savedValues = new WeakSet<object>();

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
        () => void savedValues.add(value as object),
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
 * save failed: an unreachable checkpointer is reported by LangGraph itself). `results`, when given,
 * are those steps' results as their tasks returned them (the fast path above). Without a saver it
 * resolves at once.
 */
export function savedResults(config: LangGraphRunnableConfig | undefined): (stepIds: string[], results?: readonly object[]) => Promise<void> {
  const saver = config?.configurable?.["__pregel_checkpointer"] as BaseCheckpointSaver | undefined;
  if (!saver || typeof saver.putWrites !== "function") return async () => {};
  const writes = watch(saver);
  const thread = String(config?.configurable?.thread_id);
  return async (stepIds, results) => {
    if (stepIds.length === 0) return;
    if (results && results.length === stepIds.length && results.every((r) => savedValues.has(r))) return;
    // LangGraph commits a finished task (and starts its putWrites) in the microtasks after it resolves.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(stepIds.map((id) => writes.get(`${thread}\0${id}`)));
  };
}

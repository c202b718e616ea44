import { readFileSync } from "node:fs";
import { Annotation, MemorySaver, StateGraph, task, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";

/*
 * src/engine/saved-results.ts relies on two LangGraph internals: a node's config carries the run's
 * saver as `configurable.__pregel_checkpointer`, and a finished task's result is saved with
 * `putWrites` on the channel `__return__`. @langchain/langgraph is pinned to an exact version for
 * this; when an upgrade moves either, this test says which, before a resumed run can repeat a call.
 */
describe("LangGraph internals that saved-results.ts relies on", () => {
  it("the pinned version is exact", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies["@langchain/langgraph"], "pin @langchain/langgraph to an exact version (saved-results.ts reads its internals)").toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("a node sees the saver as __pregel_checkpointer, and a task's result is written on __return__", async () => {
    const writes: { channel: string; value: unknown }[] = [];
    class Recording extends MemorySaver {
      override async putWrites(...args: Parameters<MemorySaver["putWrites"]>): Promise<void> {
        for (const [channel, value] of args[1]) writes.push({ channel, value });
        return super.putWrites(...args);
      }
    }
    const saver = new Recording();
    let seen: unknown;
    const work = task("work", async () => ({ id: "step-1", done: true }));
    const graph = new StateGraph(Annotation.Root({ out: Annotation<unknown> }))
      .addNode("run", async (_state, config: LangGraphRunnableConfig) => {
        seen = config.configurable?.["__pregel_checkpointer"];
        return { out: await work() };
      })
      .addEdge("__start__", "run")
      .compile({ checkpointer: saver });
    await graph.invoke({}, { configurable: { thread_id: "internals" } });
    expect(seen, "LangGraph no longer passes the saver as configurable.__pregel_checkpointer: update src/engine/saved-results.ts").toBe(saver);
    expect(writes, "LangGraph no longer saves a task's result on the __return__ channel: update src/engine/saved-results.ts").toContainEqual({ channel: "__return__", value: { id: "step-1", done: true } });
  });
});

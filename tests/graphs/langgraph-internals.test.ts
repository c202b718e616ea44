import { readFileSync } from "node:fs";
import { Annotation, MemorySaver, StateGraph, task, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";

/*
 * src/engine/saved-results.ts relies on two LangGraph internals: a node's config carries the run's
 * saver as `configurable.__pregel_checkpointer`, and a finished task's result is saved with
 * `putWrites` on the channel `__return__`. @langchain/langgraph is pinned to an exact version for
 * this; when an upgrade moves either, this test says which, before a resumed run can repeat a call.
 * src/engine/schedule.ts's asap relies on a third: a task run is named by the calling node's
 * scratchpad `callCounter` (it sets the counter so a step keeps its identity whenever it is called).
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

  it("a task's identity is the node's scratchpad callCounter at the call: the same counter on resume finds the saved result", async () => {
    const saver = new MemorySaver();
    let calls = 0;
    let counterSeen: unknown;
    const work = task("work", async (label: string) => {
      calls += 1;
      return label;
    });
    let failFirst = true;
    const graph = new StateGraph(Annotation.Root({ out: Annotation<unknown> }))
      .addNode("run", async (_state, config: LangGraphRunnableConfig) => {
        const scratchpad = config.configurable?.["__pregel_scratchpad"] as { callCounter: number };
        counterSeen = scratchpad.callCounter;
        // Called at counter 7 the first time; the resume calls it at 7 again, after another call at 3.
        scratchpad.callCounter = 7;
        const first = await work("at-7");
        if (failFirst) {
          failFirst = false;
          throw new Error("crash after the task's result was saved");
        }
        scratchpad.callCounter = 3;
        const other = await work("at-3");
        scratchpad.callCounter = 7;
        return { out: [first, other, await work("not run again")] };
      })
      .addEdge("__start__", "run")
      .compile({ checkpointer: saver });
    const config = { configurable: { thread_id: "counter" } };
    await expect(graph.invoke({}, config)).rejects.toThrow(/crash/);
    const state = await graph.invoke(null, config);
    expect(typeof counterSeen, "LangGraph no longer keeps a numeric __pregel_scratchpad.callCounter: update inPlanOrder in src/engine/schedule.ts").toBe("number");
    expect(state.out, "a task called at the same callCounter no longer finds its saved result: update inPlanOrder in src/engine/schedule.ts").toEqual(["at-7", "at-3", "at-7"]);
    expect(calls).toBe(2);
  });
});

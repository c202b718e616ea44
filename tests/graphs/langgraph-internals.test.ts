import { readFileSync } from "node:fs";
import { Annotation, MemorySaver, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";

/*
 * src/engine/step-journal.ts relies on LangGraph internals: a node's config carries the run's saver as
 * `configurable.__pregel_checkpointer` and the node's task id as `configurable.__pregel_task_id`, and
 * that id is the same when a superstep is re-run from its checkpoint (after a crash) and new for every
 * later superstep. @langchain/langgraph is pinned to an exact version for this; when an upgrade moves
 * any of it, this test says which, before a resumed run can repeat a call or take an old result.
 */
describe("LangGraph internals that step-journal.ts relies on", () => {
  it("the pinned version is exact", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies["@langchain/langgraph"], "pin @langchain/langgraph to an exact version (step-journal.ts reads its internals)").toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("a node sees the saver and its task id; the id survives a re-run of its superstep and changes in the next one", async () => {
    const saver = new MemorySaver();
    const seen: { saver: unknown; task: unknown; pass: number }[] = [];
    let crash = true;
    const graph = new StateGraph(Annotation.Root({ pass: Annotation<number> }))
      .addNode("run", async (state, config: LangGraphRunnableConfig) => {
        seen.push({ saver: config.configurable?.["__pregel_checkpointer"], task: config.configurable?.["__pregel_task_id"], pass: state.pass });
        if (state.pass === 1 && crash) {
          crash = false;
          throw new Error("crash in the second superstep");
        }
        return { pass: state.pass + 1 };
      })
      .addEdge("__start__", "run")
      .addConditionalEdges("run", (s) => (s.pass < 3 ? "run" : "__end__"), ["run", "__end__"])
      .compile({ checkpointer: saver });
    const config = { configurable: { thread_id: "internals" } };
    await expect(graph.invoke({ pass: 0 }, config)).rejects.toThrow("crash in the second superstep");
    await graph.invoke(null, config);
    expect(seen.map((s) => s.pass)).toEqual([0, 1, 1, 2]);
    expect(seen[0]!.saver, "LangGraph no longer passes the saver as configurable.__pregel_checkpointer: update src/engine/step-journal.ts").toBe(saver);
    const ids = seen.map((s) => s.task);
    expect(typeof ids[0], "LangGraph no longer passes configurable.__pregel_task_id: update src/engine/step-journal.ts").toBe("string");
    expect(ids[2], "a re-run superstep got a new task id: a resumed node would not find its journal").toBe(ids[1]);
    expect(new Set([ids[0], ids[1], ids[3]]).size, "a later superstep reused a task id: it would take an earlier superstep's results").toBe(3);
  });
});

import path from "node:path";
import { Command } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { agentThread, checkpointMemory } from "../../agents/memory.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { openCheckpointer, type Checkpointer } from "../../src/checkpoint.ts";
import { infraCaller } from "../helpers/fake-caller.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { testDeps } from "./helpers.ts";

/*
 * Each agent reads its own session thread, across process restarts (a new checkpointer on the same
 * file, a new graph): the credit-validator remembers what a person answered about a plan, the reporter
 * compares a run with the session's previous run of the same plan.
 */
const REQUEST = "Set up my app called shop with a database, a cache and a deployment";

async function session<T>(file: string, fn: (graph: ReturnType<typeof compileOrchestrator>, checkpointer: Checkpointer) => Promise<T>): Promise<T> {
  const checkpointer = await openCheckpointer({ home: path.dirname(file), url: `sqlite:${file}` });
  try {
    const graph = compileOrchestrator(testDeps(infraCaller(), { memory: checkpointMemory(checkpointer.saver) }), checkpointer.saver);
    return await fn(graph, checkpointer);
  } finally {
    await checkpointer.close();
  }
}

/** Runs the request on a new thread; a question is answered with `answer` when given. */
async function run(graph: ReturnType<typeof compileOrchestrator>, thread: string, sessionName: string, answer?: boolean): Promise<{ state: RunState; asked: boolean }> {
  const config = { configurable: { thread_id: thread } };
  // Over its own budget ($0.01 against a $0.02 forecast): the credit-validator asks.
  let state = (await graph.invoke({ request: REQUEST, session: sessionName, budgetUsd: 0.01 }, config)) as RunState;
  const asked = (await graph.getState(config)).tasks.some((t) => t.interrupts.length > 0);
  if (asked && answer !== undefined) state = (await graph.invoke(new Command({ resume: { approved: answer } }), config)) as RunState;
  return { state, asked };
}

describe("agents read their own session threads", () => {
  it("an approved plan is not asked about again, and the report compares with the last run — after a restart", async () => {
    const file = path.join(tempDir(), "checkpoints.sqlite");
    const first = await session(file, (graph) => run(graph, "m-1", "work", true));
    expect(first.asked).toBe(true);
    expect(first.state.report?.status).toBe("succeeded");
    expect(first.state.report?.previous).toBeUndefined();

    const second = await session(file, (graph) => run(graph, "m-2", "work"));
    expect(second.asked).toBe(false);
    expect(second.state.decision?.remembered).toMatch(/^you approved "App stack" for up to \$0\.0200 earlier in this session \(\d\d:\d\d UTC\); not asking again$/);
    expect(second.state.approval).toMatchObject({ approved: true, by: "session" });
    expect(second.state.report?.status).toBe("succeeded");
    expect(second.state.report?.previous).toMatchObject({ runId: "m-1" });
    expect(second.state.report?.previous?.text).toMatch(/(faster|slower|as fast) than the last run \(m-1\), same cost$/);
    expect(second.state.report?.summary).toContain("than the last run (m-1)");

    // Another session remembers nothing of this one.
    const other = await session(file, (graph) => run(graph, "m-3", "elsewhere"));
    expect(other.asked).toBe(true);
  });

  it("a declined plan is declined again without asking, and the answer says so", async () => {
    const file = path.join(tempDir(), "checkpoints.sqlite");
    const first = await session(file, (graph) => run(graph, "d-1", "work", false));
    expect(first.state.report?.outcome).toBe("declined");
    const second = await session(file, async (graph, checkpointer) => {
      const result = await run(graph, "d-2", "work");
      const remembered = await checkpointMemory(checkpointer.saver).load(agentThread("work", "credit-validator"));
      return { ...result, remembered };
    });
    expect(second.asked).toBe(false);
    expect(second.state.report?.outcome).toBe("declined");
    expect(second.state.report?.summary).toMatch(/not run — you declined "App stack" earlier in this session \(\d\d:\d\d UTC\); not asking again — approve with --yes\.$/);
    expect(second.remembered.map((m) => JSON.parse(m.content).approved)).toEqual([false]);
  });
});

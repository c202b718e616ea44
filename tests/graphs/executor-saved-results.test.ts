import { MemorySaver } from "@langchain/langgraph";
import type { RunnableConfig } from "@langchain/core/runnables";
import { describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState } from "../../src/engine/schedule.ts";
import { infraCaller, sleep } from "../helpers/fake-caller.ts";

/** A saver whose writes of step results land late, logging when each one has landed. */
class SlowWrites extends MemorySaver {
  constructor(private readonly log: string[]) {
    super();
  }

  override async putWrites(config: RunnableConfig, writes: [string, unknown][], taskId: string): Promise<void> {
    const step = writes.find(([channel]) => channel === "__return__")?.[1] as { id?: string } | undefined;
    if (step?.id) await sleep(150);
    await super.putWrites(config, writes, taskId);
    if (step?.id) this.log.push(`saved ${step.id}`);
  }
}

describe("asap: a dependent step waits until its dependencies' results are saved", () => {
  it("calls b only after a's result is on the saver, and runs independent steps without waiting", async () => {
    const log: string[] = [];
    const caller = infraCaller();
    const call = caller.call.bind(caller);
    caller.call = async (server, tool, args, options) => {
      log.push(`call ${String(args["name"])}`);
      return call(server, tool, args, options);
    };
    const ctx = { caller, limits: new ServerLimits(8), sleep: async () => {} };
    const graph = compileExecutor({ context: async () => ctx }, new SlowWrites(log));
    const plan = {
      name: "chain",
      steps: [
        { id: "a", tool: "infra.create", params: { name: "a" } },
        { id: "b", tool: "infra.create", dependencies: ["a"], params: { name: "b" } },
        { id: "c", tool: "infra.create", params: { name: "c" } },
      ],
    };
    const state = (await graph.invoke({ plan, scheduler: "asap" }, { configurable: { thread_id: "saved-results" }, durability: "sync" })) as ExecState;
    expect(state.status).toBe("succeeded");
    expect(log.indexOf("call b")).toBeGreaterThan(log.indexOf("saved a"));
    expect(log.indexOf("call c")).toBeLessThan(log.indexOf("saved a"));
  });
});

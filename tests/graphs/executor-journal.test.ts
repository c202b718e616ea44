import { MemorySaver } from "@langchain/langgraph";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState } from "../../src/engine/schedule.ts";
import { registerJournal, sqliteJournal, type JournalStore } from "../../src/engine/step-journal.ts";
import { infraCaller, sleep } from "../helpers/fake-caller.ts";

/** A journal whose writes land late, logging when each step's entry has landed. */
function slowJournal(log: string[]): JournalStore {
  const inner = sqliteJournal(new Database(":memory:"));
  return {
    ...inner,
    write: async (scope, task, entries) => {
      await sleep(150);
      await inner.write(scope, task, entries);
      for (const [key] of entries) log.push(`saved ${key.replace(/^step:/, "")}`);
    },
  };
}

const plan = {
  name: "chain",
  steps: [
    { id: "a", tool: "infra.create", params: { name: "a" } },
    { id: "b", tool: "infra.create", dependencies: ["a"], params: { name: "b" } },
    { id: "c", tool: "infra.create", params: { name: "c" } },
  ],
};

describe("asap: a dependent step waits until its dependencies' results are journaled", () => {
  it("calls b only after a's result is saved, and runs independent steps without waiting", async () => {
    const log: string[] = [];
    const caller = infraCaller();
    const call = caller.call.bind(caller);
    caller.call = async (server, tool, args, options) => {
      log.push(`call ${String(args["name"])}`);
      return call(server, tool, args, options);
    };
    const saver = new MemorySaver();
    registerJournal(saver, slowJournal(log));
    const graph = compileExecutor({ context: async () => ({ caller, limits: new ServerLimits(8), sleep: async () => {} }) }, saver);
    const state = (await graph.invoke({ plan, scheduler: "asap" }, { configurable: { thread_id: "journal" } })) as ExecState;
    expect(state.status).toBe("succeeded");
    expect(log.indexOf("call b")).toBeGreaterThan(log.indexOf("saved a"));
    expect(log.indexOf("call c")).toBeLessThan(log.indexOf("saved a"));
  });

  it("a node re-run after a crash takes journaled steps as done; a new run of the thread calls them again", async () => {
    const caller = infraCaller();
    const saver = new MemorySaver();
    // The process "dies" while b's result is being saved, after a's and c's are.
    const inner = sqliteJournal(new Database(":memory:"));
    let crash = true;
    registerJournal(saver, {
      ...inner,
      write: async (scope, task, entries) => {
        if (crash && entries.some(([key]) => key === "step:b")) {
          crash = false;
          throw new Error("killed");
        }
        await inner.write(scope, task, entries);
      },
    });
    const graph = compileExecutor({ context: async () => ({ caller, limits: new ServerLimits(8), sleep: async () => {} }) }, saver);
    const config = { configurable: { thread_id: "crash" } };
    await expect(graph.invoke({ plan, scheduler: "asap" }, config)).rejects.toThrow("killed");
    const resumed = (await graph.invoke(null, config)) as ExecState;
    expect(resumed.status).toBe("succeeded");
    const calls = (name: string): number => caller.callsOf("create").filter((c) => c.args["name"] === name).length;
    expect([calls("a"), calls("b"), calls("c")]).toEqual([1, 2, 1]);
    await graph.invoke({ plan, scheduler: "asap", results: null }, config);
    expect([calls("a"), calls("b"), calls("c")]).toEqual([2, 3, 2]);
  });

  it("keeps a thread's entries only while they can be needed: compensate, the next node, deletes the steps' entries", async () => {
    const db = new Database(":memory:");
    const saver = new MemorySaver();
    const store = sqliteJournal(db);
    const written: string[] = [];
    registerJournal(saver, { ...store, write: async (scope, task, entries) => (written.push(...entries.map(([key]) => key)), store.write(scope, task, entries)) });
    const graph = compileExecutor({ context: async () => ({ caller: infraCaller(), limits: new ServerLimits(8), sleep: async () => {} }) }, saver);
    const state = (await graph.invoke({ plan, scheduler: "asap" }, { configurable: { thread_id: "clean" } })) as ExecState;
    expect(state.status).toBe("succeeded");
    expect(written.sort()).toEqual(["step:a", "step:b", "step:c"]);
    expect(db.prepare("SELECT count(*) AS n FROM credit_optimizer_step_journal").get()).toEqual({ n: 0 });
  });
});

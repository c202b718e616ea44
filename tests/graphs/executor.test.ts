import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import { summarizeExecution } from "../../src/engine/report.ts";
import type { ExecState, Scheduler } from "../../src/engine/schedule.ts";
import { ToolCallError } from "../../src/mcp/client.ts";
import { SecretStore } from "../../src/secrets.ts";
import { FakeCaller, infraCaller, sleep } from "../helpers/fake-caller.ts";

async function run(caller: FakeCaller, plan: unknown, scheduler: Scheduler = "asap", extra: { stop?: AbortSignal; cancel?: AbortSignal; limit?: number; secrets?: SecretStore; allowDestructive?: boolean } = {}) {
  const ctx = { caller, limits: new ServerLimits(extra.limit ?? 8), secrets: extra.secrets, sleep: async () => {} };
  const graph = compileExecutor({ context: async () => ctx, stopSignal: extra.stop, cancelSignal: extra.cancel }, new MemorySaver());
  const state = (await graph.invoke({ plan, scheduler, allowDestructive: extra.allowDestructive ?? false }, { configurable: { thread_id: `x-${Math.random()}` }, recursionLimit: 1000 })) as ExecState;
  return summarizeExecution(state);
}

const create = (id: string, dependencies: string[] = [], params: Record<string, unknown> = {}) => ({
  id,
  tool: "infra.create",
  dependencies,
  params: { name: id, ...params },
});

// A chain a → b → c → d → e, where the step named in failOn fails.
const chain = { name: "chain", steps: [create("a"), create("b", ["a"]), create("c", ["b"]), create("d", ["c"]), create("e", ["d"])] };

for (const scheduler of ["asap", "graph"] as const) {
  describe(`executor (${scheduler})`, () => {
    it("400 calls in flight at once, each listening on the run's cancel signal (as MCP requests do), print no listener warning", async () => {
      const width = 400;
      const caller = infraCaller();
      const call = caller.call.bind(caller);
      // Each call returns only once all of them are in flight: `width` listeners on the signal at once.
      let inFlight = 0;
      let allStarted!: () => void;
      const all = new Promise<void>((resolve) => (allStarted = resolve));
      caller.call = async (server, tool, args, options = {}) => {
        const onAbort = (): void => {};
        options.signal?.addEventListener("abort", onAbort);
        if (++inFlight === width) allStarted();
        try {
          await all;
          return await call(server, tool, args, options);
        } finally {
          options.signal?.removeEventListener("abort", onAbort);
        }
      };
      const warnings: string[] = [];
      const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
      process.on("warning", onWarning);
      try {
        const plan = { name: "wide", steps: Array.from({ length: width }, (_, i) => create(`s${i}`)) };
        const report = await run(caller, plan, scheduler, { cancel: new AbortController().signal, limit: width });
        expect(report.status).toBe("succeeded");
        expect(caller.calls).toHaveLength(width);
      } finally {
        process.off("warning", onWarning);
      }
      expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([]);
    });

    it("a failure after k of n steps compensates exactly those k, in reverse order", async () => {
      const caller = infraCaller({ failOn: ["d"] });
      const report = await run(caller, chain, scheduler);
      expect(report.status).toBe("rolled_back");
      expect(report.steps.map((s) => [s.id, s.status])).toEqual([
        ["a", "succeeded"], ["b", "succeeded"], ["c", "succeeded"], ["d", "failed"], ["e", "skipped"],
      ]);
      expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-c", "id-b", "id-a"]);
      expect(report.compensations.map((c) => [c.step, c.status])).toEqual([["c", "succeeded"], ["b", "succeeded"], ["a", "succeeded"]]);
    });

    it("only steps that declare (or return) a rollback are compensated; a failing compensation does not stop the others", async () => {
      const caller = infraCaller({ failOn: ["x"], failDeleteOn: ["id-b"] });
      const plan = {
        name: "mixed",
        steps: [
          create("a"),
          { id: "n", tool: "infra.noop", dependencies: ["a"], params: { name: "n" } },
          create("b", ["n"]),
          { ...create("c", ["b"]), rollback: { tool: "infra.delete", params: { id: "custom-${c.id}" } } },
          create("x", ["c"]),
        ],
      };
      const report = await run(caller, plan, scheduler, { allowDestructive: true });
      expect(report.status).toBe("compensation_failed");
      expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["custom-id-c", "id-b", "id-a"]);
      expect(report.leftBehind).toEqual(["b"]);
      expect(report.compensations.find((c) => c.step === "b")?.error?.message).toBe("delete id-b failed");
      expect(report.outcomes).toEqual([
        { step: "c", outcome: "undone", detail: "infra.delete" },
        { step: "b", outcome: "undo_failed", detail: "infra.delete: delete id-b failed" },
        { step: "a", outcome: "undone", detail: "infra.delete" },
        { step: "n", outcome: "nothing_to_undo", detail: "infra.noop is read-only" },
      ]);
      // Returned rollbacks ran without approval because of their origin; the plan's own did not need it here.
      expect(report.compensations.find((c) => c.step === "a")?.trusted).toMatch(/returned by the call that created what it undoes/);
      expect(report.compensations.find((c) => c.step === "c")?.trusted).toBeUndefined();
    });

    it("a rollback the plan declares is gated like a step: without approval it is refused with the rule, and nothing is claimed undone", async () => {
      const caller = infraCaller({ failOn: ["x"] });
      const plan = { name: "declared", steps: [{ ...create("c"), rollback: { tool: "infra.delete", params: { id: "${c.id}" } } }, create("x", ["c"])] };
      const report = await run(caller, plan, scheduler);
      expect(caller.callsOf("delete")).toHaveLength(0);
      expect(report.status).toBe("compensation_failed");
      expect(report.compensations[0]?.error).toMatchObject({ code: "POLICY_DESTRUCTIVE" });
      expect(report.compensations[0]?.error?.message).toContain('step "rollback_c": infra.delete refused by the destructive rule: the rollback infra.delete may destroy data');
      expect(report.outcomes).toEqual([{ step: "c", outcome: "undo_failed", detail: expect.stringContaining("refused by the destructive rule") }]);
    });

    it("a tool output holding ${other.field} reaches the next step verbatim", async () => {
      const caller = infraCaller();
      const plan = {
        name: "inject",
        steps: [
          { id: "secret", tool: "infra.noop", params: { name: "secret", value: "s3cr3t-value" } },
          { id: "evil", tool: "infra.noop", params: { name: "evil", value: "${secret.value}" } },
          { id: "hostile", tool: "infra.noop", params: { name: "hostile", value: "prefix ${secret.value}" } },
          { id: "next", tool: "infra.noop", dependencies: ["hostile"], params: { name: "next", value: "${hostile.value}" } },
          { id: "mirror", tool: "infra.noop", dependencies: ["evil"], params: { name: "mirror", value: "${evil.value}" } },
        ],
      };
      // `hostile` returns a string that itself looks like a reference.
      caller.tools.length = 0;
      caller.add("infra", "noop", (args) => (args["name"] === "hostile" ? { name: "hostile", value: "${secret.value}" } : { name: args["name"], value: args["value"] }));
      const report = await run(caller, plan, scheduler);
      expect(report.status).toBe("succeeded");
      expect(caller.calls.find((c) => c.args["name"] === "next")!.args["value"]).toBe("${secret.value}");
      expect(caller.calls.find((c) => c.args["name"] === "mirror")!.args["value"]).toBe("s3cr3t-value");
    });

    it("retries retryable failures with backoff and not validation failures", async () => {
      const caller = new FakeCaller();
      caller.add("svc", "flaky", (_, n) => {
        if (n < 3) throw new ToolCallError("TOOL_ERROR", "503 service unavailable", true);
        return { ok: true };
      });
      caller.add("svc", "bad", () => {
        throw new ToolCallError("TOOL_ERROR", "name: expected string", false);
      });
      const ok = await run(caller, { name: "r", steps: [{ id: "f", tool: "svc.flaky", params: {}, retry: { maxAttempts: 5, backoffMs: 1 } }] }, scheduler);
      expect(ok.steps[0]).toMatchObject({ status: "succeeded", attempts: 3 });
      const bad = await run(caller, { name: "r", steps: [{ id: "b", tool: "svc.bad", params: {}, retry: { maxAttempts: 5, backoffMs: 1 } }] }, scheduler);
      expect(bad.steps[0]).toMatchObject({ status: "failed", attempts: 1 });
      expect(caller.callsOf("bad")).toHaveLength(1);
    });

    it("a hung tool times out and the step fails cleanly", async () => {
      const caller = new FakeCaller();
      caller.add("svc", "hang", () => new Promise(() => {}));
      const report = await run(caller, { name: "t", steps: [{ id: "h", tool: "svc.hang", params: {}, timeoutMs: 50, retry: { maxAttempts: 2, backoffMs: 1 } }] }, scheduler);
      expect(report.status).toBe("rolled_back");
      expect(report.steps[0]).toMatchObject({ status: "failed", attempts: 2, error: { code: "TIMEOUT" } });
    });

    it("secrets in outputs become handles in state and are revealed only in tool arguments", async () => {
      const secrets = new SecretStore(":memory:", Buffer.alloc(32, 7));
      const caller = new FakeCaller();
      caller.add("svc", "make_db", () => ({ connection_string: "postgres://u:hunter22@h/db", password: "pw-123456" }));
      caller.add("svc", "use", (args) => ({ got: args["url"] === "postgres://u:hunter22@h/db" }));
      const plan = { name: "s", steps: [{ id: "db", tool: "svc.make_db", params: {} }, { id: "app", tool: "svc.use", params: { url: "${db.connection_string}" } }] };
      const report = await run(caller, plan, scheduler, { secrets });
      expect(report.status).toBe("succeeded");
      expect(caller.calls[1]!.args["url"]).toBe("postgres://u:hunter22@h/db");
      const text = JSON.stringify(report);
      expect(text).not.toContain("hunter22");
      expect(text).not.toContain("pw-123456");
      expect(text).toContain("secret://");
    });
  });
}

describe("asap scheduling", () => {
  it("starts each step the moment its own dependencies finish", async () => {
    const caller = infraCaller({ ms: { slow: 300, quick: 20, after_quick: 20 } });
    const plan = {
      name: "overlap",
      steps: [create("slow"), create("quick"), create("after_quick", ["quick"]), create("join", ["slow", "after_quick"])],
    };
    const report = await run(caller, plan, "asap");
    const at = Object.fromEntries(report.steps.map((s) => [s.id, s]));
    expect(at["after_quick"]!.startedAtMs).toBeLessThan(at["slow"]!.endedAtMs);
    expect(at["join"]!.startedAtMs).toBeGreaterThanOrEqual(at["slow"]!.endedAtMs);
  });

  it("holds each server to its concurrency limit", async () => {
    const caller = infraCaller({ ms: Object.fromEntries(["a", "b", "c", "d", "e", "f"].map((id) => [id, 30])) });
    const plan = { name: "wide", steps: ["a", "b", "c", "d", "e", "f"].map((id) => create(id)) };
    const report = await run(caller, plan, "asap", { limit: 2 });
    expect(report.status).toBe("succeeded");
    const maxInFlight = Math.max(...caller.calls.map((c) => caller.calls.filter((o) => o.startedAt <= c.startedAt && (o.endedAt ?? 0) > c.startedAt).length));
    expect(maxInFlight).toBe(2);
  });

  it("a stop starts no new step, lets in-flight steps finish and rolls back what finished", async () => {
    const stop = new AbortController();
    const caller = new FakeCaller();
    caller.add("infra", "create", async (args) => {
      const name = String(args["name"]);
      if (name === "b") {
        setTimeout(() => stop.abort(), 20);
        await sleep(150);
      }
      return { id: `id-${name}`, rollback: { tool: "delete", arguments: { id: `id-${name}` } } };
    });
    caller.add("infra", "delete", (args) => ({ deleted: args["id"] }));
    const plan = { name: "stop", steps: [create("a"), create("b"), create("c", ["a", "b"])] };
    const report = await run(caller, plan, "asap", { stop: stop.signal });
    expect(report.status).toBe("cancelled");
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([["a", "succeeded"], ["b", "succeeded"], ["c", "skipped"]]);
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-b", "id-a"]);
  });

  it("a large plan has no barrier: a step whose dependency finished starts while a slow step early in the plan still runs", async () => {
    // 300 steps: s0 is slow; s299, last in the plan, waits only for the quick s1. Run in segments of
    // 250 steps (the version before the journal), s299 would wait for s0.
    const steps = [create("s0"), ...Array.from({ length: 298 }, (_, i) => create(`s${i + 1}`)), create("s299", ["s1"])];
    // s0 ends only once s299 has been called (it fails after 30 s without: a barrier would hold s299 back).
    const s299Called = async (): Promise<void> => {
      for (const deadline = Date.now() + 30_000; !caller.calls.some((c) => c.args["name"] === "s299"); await sleep(10)) {
        if (Date.now() > deadline) throw new ToolCallError("TOOL_ERROR", "s299 did not start while s0 ran", false);
      }
    };
    const caller: FakeCaller = infraCaller({ gate: { s0: s299Called } });
    const report = await run(caller, { name: "wide", steps }, "asap", { limit: 1_000 });
    expect(report.status).toBe("succeeded");
    const call = (name: string) => caller.callsOf("create").find((c) => c.args["name"] === name)!;
    expect(call("s299").startedAt).toBeLessThanOrEqual(call("s0").endedAt!);
  });

  it("a large plan rolls back every finished step, in reverse order", async () => {
    const n = 350;
    const steps = Array.from({ length: n }, (_, i) => create(`s${i}`, i >= 3 ? [`s${i - 3}`] : []));
    const caller = infraCaller({ failOn: [`s${n - 1}`] });
    const failed = await run(caller, { name: "big", steps }, "asap");
    expect(failed.status).toBe("rolled_back");
    expect(failed.steps).toHaveLength(n);
    expect(caller.callsOf("delete")).toHaveLength(n - 1);
    expect(caller.callsOf("delete")[0]!.args["id"]).toBe(`id-s${n - 2}`);
    expect(caller.callsOf("delete").at(-1)!.args["id"]).toBe("id-s0");
  });

  it("a clean run writes its steps' results to the thread once: compensate, with nothing to undo, does not write them again", async () => {
    const ctx = { caller: infraCaller(), limits: new ServerLimits(8), sleep: async () => {} };
    const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
    const config = { configurable: { thread_id: "once" } };
    const state = (await graph.invoke({ plan: chain, scheduler: "asap" }, config)) as ExecState;
    expect(state.status).toBe("succeeded");
    expect(Object.keys(state.results)).toEqual(["a", "b", "c", "d", "e"]);
    const writers: string[] = [];
    for await (const snapshot of graph.getStateHistory(config)) {
      for (const task of snapshot.tasks) if (task.result && "results" in (task.result as object) && (task.result as ExecState).results !== null) writers.push(task.name);
    }
    expect(writers).toEqual(["runAsap"]);
  });
});

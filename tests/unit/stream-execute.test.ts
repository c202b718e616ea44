import { Command, MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import type { OrchestratorDeps } from "../../agents/deps.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { configuredChatModel } from "../../src/run/chat-models.ts";
import { testDeps } from "../graphs/helpers.ts";
import { infraCaller, type FakeCaller } from "../helpers/fake-caller.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

type PlanLike = { name: string; steps: Record<string, unknown>[] };
const step = (id: string, tool: string, params: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ id, tool, dependencies: [], params, ...more });

const fnOf = (r: StubRequest): string | undefined => (r.body["tools"] as { function: { name: string } }[] | undefined)?.[0]?.function.name;
const script = (...plans: PlanLike[]) => {
  let call = 0;
  return (request: StubRequest): StubReply =>
    fnOf(request) === "plan" ? { toolCalls: [{ name: "plan", arguments: plans[Math.min(call++, plans.length - 1)] }], usage: { prompt_tokens: 700, completion_tokens: 120 } } : { content: "done" };
};

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

/** Holds the end of the stream until `until` says so (or 10 s): `released()` tells which happened. */
function holdUntil(until: () => boolean) {
  let by: "condition" | "timeout" | undefined;
  const hold = async (): Promise<void> => {
    const started = Date.now();
    while (!until() && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 10));
    by = until() ? "condition" : "timeout";
  };
  return { hold, released: () => by };
}

function graphOf(s: OpenAIStub, caller: FakeCaller, extra: Partial<OrchestratorDeps> = {}) {
  const env = { OPENAI_BASE_URL: s.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" };
  const base = testDeps(caller, extra, env);
  return compileOrchestrator({ ...base, maxReplans: 0, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
}
let n = 0;
const thread = () => ({ configurable: { thread_id: `stream-exec-${++n}` } });
const created = (caller: FakeCaller) => caller.callsOf("create").map((c) => c.args["name"]);

const SHOP = { name: "Shop", steps: [step("db", "infra.create", { name: "shop-db" }), step("cache", "infra.create", { name: "shop-cache" }), step("deploy", "infra.noop", { name: "shop", value: "${db.id}" })] };

/**
 * The model streams `planFor(1)`; its stream is held until both creates have finished and been saved,
 * then the run is killed (its signal aborted) and resumed on the same thread, where the model answers `planFor(2)`.
 */
async function killedWhileStreamingThenResumed(planFor: (call: number) => unknown): Promise<{ caller: FakeCaller; resumed: RunState }> {
  const caller = infraCaller();
  const kill = new AbortController();
  let call = 0;
  // Killed once both creates ended a moment ago: their results are journaled a tick after they land.
  const settled = (): boolean => caller.calls.every((c) => c.endedAt !== undefined && Date.now() - c.endedAt > 50);
  const end = holdUntil(() => {
    if (call === 1 && caller.callsOf("create").length >= 2 && settled()) kill.abort();
    return call > 1;
  });
  stub = await startOpenAIStub((request: StubRequest): StubReply => {
    if (fnOf(request) !== "plan") return { content: "done" };
    call++;
    return { toolCalls: [{ name: "plan", arguments: planFor(call) }] };
  }, { tokensPerSecond: 2000, holdEnd: async () => (call === 1 ? end.hold() : undefined) });
  const graph = graphOf(stub, caller);
  const config = thread();
  await expect(graph.invoke({ request: "Set up the shop", autoApprove: true }, { ...config, signal: kill.signal })).rejects.toThrow();
  expect(created(caller).sort()).toEqual(["shop-cache", "shop-db"]);
  const resumed = (await graph.invoke(null, config)) as RunState;
  expect(call).toBe(2);
  return { caller, resumed };
}

describe("executing while the plan streams", () => {
  it("a valid, safe step starts while the model is still writing; the executor does not call it again", async () => {
    const plan = { name: "Shop", steps: [step("db", "infra.create", { name: "shop-db" }), step("cache", "infra.create", { name: "shop-cache" }), step("deploy", "infra.noop", { name: "shop", value: "${db.id}" })] };
    const caller = infraCaller();
    const end = holdUntil(() => caller.callsOf("create").length >= 2);
    stub = await startOpenAIStub(script(plan), { tokensPerSecond: 2000, holdEnd: end.hold });
    const final = (await graphOf(stub, caller).invoke({ request: "Set up the shop", autoApprove: true }, thread())) as RunState;
    expect(end.released()).toBe("condition");
    expect(final.report?.status).toBe("succeeded");
    expect(created(caller).sort()).toEqual(["shop-cache", "shop-db"]);
    expect(caller.callsOf("noop")).toHaveLength(1);
    expect(caller.callsOf("noop")[0]!.args["value"]).toBe("id-shop-db");
    expect(final.report?.planner?.streamed?.map((s) => [s.id, s.started ?? false])).toEqual([["db", true], ["cache", true], ["deploy", true]]);
    expect(final.report?.steps.map((s) => s.id).sort()).toEqual(["cache", "db", "deploy"]);
  });

  it("the first destructive step holds itself and everything after it until the whole plan is approved", async () => {
    const plan = { name: "Swap", steps: [step("a", "infra.create", { name: "a" }), step("drop", "infra.delete", { id: "old" }), step("c", "infra.create", { name: "c" })] };
    const caller = infraCaller();
    stub = await startOpenAIStub(script(plan), { tokensPerSecond: 2000 });
    const graph = graphOf(stub, caller);
    const config = thread();
    const paused = (await graph.invoke({ request: "Swap it", autoApprove: true }, config)) as RunState & { __interrupt__?: unknown[] };
    expect(paused.__interrupt__).toHaveLength(1);
    expect(created(caller)).toEqual(["a"]);
    expect(caller.callsOf("delete")).toEqual([]);
    const streamed = paused.planner?.streamed ?? [];
    expect(streamed.map((s) => [s.id, s.started ?? false])).toEqual([["a", true], ["drop", false], ["c", false]]);
    expect(streamed[1]!.held).toContain("destructive");
    expect(streamed[2]!.held).toContain('held behind "drop"');
    const final = (await graph.invoke(new Command({ resume: true }), config)) as RunState;
    expect(final.report?.status).toBe("succeeded");
    expect(created(caller)).toEqual(["a", "c"]);
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["old"]);
  });

  it("a step whose running forecast would cross the approval threshold holds the rest; declining rolls back what started", async () => {
    const plan = { name: "Pricey", steps: [step("a", "infra.create", { name: "a" }, { estimate: { usd: 0.1 } }), step("big", "infra.create", { name: "big" }, { estimate: { usd: 3 } }), step("c", "infra.create", { name: "c" })] };
    const caller = infraCaller();
    stub = await startOpenAIStub(script(plan), { tokensPerSecond: 2000 });
    const graph = graphOf(stub, caller);
    const config = thread();
    const paused = (await graph.invoke({ request: "Make it" }, config)) as RunState & { __interrupt__?: unknown[] };
    expect(paused.__interrupt__).toHaveLength(1);
    expect(created(caller)).toEqual(["a"]);
    expect(paused.planner?.streamed?.[1]?.held).toContain("would cross the approval threshold ($0.50)");
    const final = (await graph.invoke(new Command({ resume: false }), config)) as RunState;
    expect(created(caller)).toEqual(["a"]);
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-a"]);
    expect(final.report?.outcome).toBe("declined");
    expect(final.report?.outcomes.find((o) => o.step === "a")?.outcome).toBe("undone");
  });

  it("an invalid step stops starting and goes to repair; the repaired plan keeps what started, which is not called again", async () => {
    const broken = { name: "Fix", steps: [step("a", "infra.create", { name: "a" }), step("bad", "infra.nope", {}), step("c", "infra.create", { name: "c" })] };
    const fixed = { name: "Fix", steps: [step("a", "infra.create", { name: "a" }), step("good", "infra.noop", { name: "g" }), step("c", "infra.create", { name: "c" })] };
    const caller = infraCaller();
    stub = await startOpenAIStub(script(broken, fixed), { tokensPerSecond: 2000 });
    const final = (await graphOf(stub, caller).invoke({ request: "Fix it", autoApprove: true }, thread())) as RunState;
    expect(final.report?.status).toBe("succeeded");
    expect(created(caller)).toEqual(["a", "c"]);
    const repair = JSON.stringify(stub.requests.filter((r) => fnOf(r) === "plan")[1]!.body["messages"]);
    expect(repair).toContain("Steps already running or done (keep them exactly as they are)");
  });

  it("a step naming an id that has not arrived waits; one that never arrives is a validation problem, and what started is rolled back", async () => {
    const later = { name: "Order", steps: [step("x", "infra.noop", { name: "x", value: "${y.id}" }), step("y", "infra.create", { name: "y" })] };
    const caller = infraCaller();
    stub = await startOpenAIStub(script(later), { tokensPerSecond: 2000 });
    const ok = (await graphOf(stub, caller).invoke({ request: "Order", autoApprove: true }, thread())) as RunState;
    expect(ok.report?.status).toBe("succeeded");
    expect(ok.report?.planner?.streamed?.map((s) => [s.id, s.status, s.started ?? false])).toEqual([["x", "waiting", false], ["y", "ok", true]]);
    await stub.close();

    const never = { name: "Never", steps: [step("y", "infra.create", { name: "y" }), step("x", "infra.noop", { name: "x" }, { dependencies: ["ghost"] })] };
    const caller2 = infraCaller();
    stub = await startOpenAIStub(script(never), { tokensPerSecond: 2000 });
    const failed = (await graphOf(stub, caller2, { maxRepairs: 0 }).invoke({ request: "Never", autoApprove: true }, thread())) as RunState;
    expect(failed.report?.outcome).toBe("planning_failed");
    expect(failed.report?.problems.join(" ")).toContain('unknown step "ghost"');
    expect(created(caller2)).toEqual(["y"]);
    expect(caller2.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-y"]);
  });

  it("plan (a dry run) starts nothing while streaming", async () => {
    const plan = { name: "Shop", steps: [step("db", "infra.create", { name: "shop-db" })] };
    const caller = infraCaller();
    stub = await startOpenAIStub(script(plan), { tokensPerSecond: 2000 });
    const final = (await graphOf(stub, caller).invoke({ request: "Set up", dryRun: true }, thread())) as RunState;
    expect(final.report?.outcome).toBe("planned");
    expect(caller.calls).toEqual([]);
    expect(final.report?.planner?.streamed?.[0]?.started).toBeUndefined();
  });

  it("Ctrl-C while the plan streams stops the model call and rolls back what started", async () => {
    const plan = { name: "Shop", steps: [step("db", "infra.create", { name: "shop-db" }), step("cache", "infra.create", { name: "shop-cache" }), step("deploy", "infra.noop", { name: "shop" })] };
    const caller = infraCaller();
    const stop = new AbortController();
    // Every step is complete at its closing brace, so all three start before the stream's end is let go.
    const end = holdUntil(() => {
      if (caller.callsOf("create").length >= 2 && caller.callsOf("noop").length >= 1 && caller.calls.every((c) => c.endedAt !== undefined)) stop.abort();
      return false;
    });
    stub = await startOpenAIStub(script(plan), { tokensPerSecond: 2000, holdEnd: end.hold });
    const final = (await graphOf(stub, caller, { stopSignal: stop.signal }).invoke({ request: "Set up", autoApprove: true }, thread())) as RunState;
    expect(stop.signal.aborted).toBe(true);
    expect(final.report?.problems).toContain("the run was stopped while the plan streamed");
    expect(caller.callsOf("delete").map((c) => c.args["id"]).sort()).toEqual(["id-shop-cache", "id-shop-db"]);
    // The read-only step ran once and has nothing to undo.
    expect(caller.callsOf("noop")).toHaveLength(1);
    expect(final.report?.status).toBe("cancelled");
  });

  it("a run killed while its plan streams resumes without calling the steps that finished", async () => {
    const { caller, resumed } = await killedWhileStreamingThenResumed(() => SHOP);
    expect(resumed.report?.status).toBe("succeeded");
    expect(created(caller).sort()).toEqual(["shop-cache", "shop-db"]);
    expect(caller.callsOf("noop")).toHaveLength(1);
  });

  it("a resumed stream that writes a started step differently rolls back the step that ran, instead of leaving it without its rollback", async () => {
    const rewritten = { ...SHOP, steps: [step("db", "infra.create", { name: "shop-db-2" }), ...SHOP.steps.slice(1)] };
    const { caller, resumed } = await killedWhileStreamingThenResumed((call) => (call === 1 ? SHOP : rewritten));
    // Nothing was called again, the new "db" never ran, and both resources that ran are undone.
    expect(created(caller).sort()).toEqual(["shop-cache", "shop-db"]);
    expect(caller.callsOf("delete").map((c) => c.args["id"]).sort()).toEqual(["id-shop-cache", "id-shop-db"]);
    expect(resumed.report?.outcome).toBe("planning_failed");
    expect(resumed.report?.problems.join(" ")).toContain("changed steps that had already started (db)");
  });
});

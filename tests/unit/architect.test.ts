import { Command, MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import { configuredChatModel } from "../../src/run/chat-models.ts";
import { agentThread, checkpointMemory } from "../../agents/memory.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { infraCaller } from "../helpers/fake-caller.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";
import { testDeps } from "../graphs/helpers.ts";
import { openLedger } from "../../src/cost/ledger.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const VALID_PLAN = {
  name: "Shop stack",
  steps: [
    { id: "db", agent: "db", tool: "infra.create", dependencies: [], params: { name: "shop-db" }, estimate: { ms: 100, usd: 0.01 } },
    { id: "cache", agent: "redis", tool: "infra.create", dependencies: [], params: { name: "shop-cache" } },
    { id: "deploy", agent: "deploy", tool: "infra.noop", dependencies: ["db", "cache"], params: { name: "shop", value: "${db.id}" } },
  ],
};
const INVALID_PLAN = {
  name: "Shop stack",
  steps: [
    { id: "db", tool: "infra.nope", dependencies: [], params: { name: "shop-db" } },
    { id: "deploy", tool: "infra.noop", dependencies: ["cache"], params: {} },
  ],
};
const PLAN_USAGE = { prompt_tokens: 1834, completion_tokens: 212 };

const planReply = (plan: unknown): StubReply => ({ toolCalls: [{ name: "plan", arguments: plan }], usage: PLAN_USAGE });
const summaryReply: StubReply = { content: "All three steps succeeded in parallel.", usage: { prompt_tokens: 400, completion_tokens: 30 } };
/** Plan replies in order for calls that carry the plan function; a summary for the reporter. */
const script = (...plans: unknown[]) => (request: StubRequest): StubReply => {
  if (!Array.isArray(request.body["tools"])) return summaryReply;
  const index = script.calls.get(plans) ?? 0;
  script.calls.set(plans, index + 1);
  return planReply(plans[Math.min(index, plans.length - 1)]);
};
script.calls = new Map<unknown[], number>();

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

function modelDeps(s: OpenAIStub, caller = infraCaller(), extra: Parameters<typeof testDeps>[1] = {}) {
  const env = { OPENAI_BASE_URL: s.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" };
  const base = testDeps(caller, extra, env);
  return { ...base, chatModel: extra.chatModel ?? configuredChatModel(base.config, { routing: {} }, 0) };
}

const planCalls = (s: OpenAIStub) => s.requests.filter((r) => Array.isArray(r.body["tools"]));
let n = 0;
const thread = () => ({ configurable: { thread_id: `arch-${++n}` } });

describe("architect with a model (OpenAI-compatible stand-in)", () => {
  it("asks for the plan through the plan function with the tool catalog and examples, and runs it", async () => {
    stub = await startOpenAIStub(script(VALID_PLAN));
    const caller = infraCaller();
    const graph = compileOrchestrator(modelDeps(stub, caller), new MemorySaver());
    const final = (await graph.invoke({ request: "Set up the shop with a database and a cache" }, thread())) as RunState;
    expect(final.report?.planner).toMatchObject({ kind: "model", attempts: 1 });
    expect(final.report?.status).toBe("succeeded");
    const [call] = planCalls(stub);
    const tools = call!.body["tools"] as { function: { name: string } }[];
    expect(tools.map((t) => t.function.name)).toEqual(["plan"]);
    expect(call!.body["tool_choice"]).toEqual({ type: "function", function: { name: "plan" } });
    // Static instructions first (a cacheable prefix); the tools and the example come with the request.
    const [system, user] = call!.body["messages"] as { role: string; content: string }[];
    expect(system!.role).toBe("system");
    expect(system!.content).not.toContain("infra.create");
    expect(user!.role).toBe("user");
    expect(user!.content).toMatch(/<tools>\ninfra\.create\(name: string, value\?: any\) — /);
    expect(user!.content).toContain('"request":');
    expect(user!.content).toContain("Request: Set up the shop with a database and a cache");
    expect(caller.callsOf("noop")[0]!.args["value"]).toBe("id-shop-db");
    const architect = final.report!.usage.filter((u) => u.agent === "architect");
    expect(architect).toEqual([expect.objectContaining({ input_tokens: 1834, output_tokens: 212, model: "gpt-4o-mini" })]);
    expect(final.report?.summaryBy).toBe("model");
    expect(final.report?.summary).toBe("All three steps succeeded in parallel.");
  });

  it("sends an invalid plan back with the validation messages and takes the repaired one", async () => {
    stub = await startOpenAIStub(script(INVALID_PLAN, VALID_PLAN));
    const caller = infraCaller();
    const graph = compileOrchestrator(modelDeps(stub, caller), new MemorySaver());
    const final = (await graph.invoke({ request: "Set up the shop" }, thread())) as RunState;
    expect(final.report?.planner).toMatchObject({ kind: "model", attempts: 2 });
    expect(final.report?.status).toBe("succeeded");
    const second = planCalls(stub)[1]!.body["messages"] as { role: string; content: string; tool_call_id?: string }[];
    const repair = second.find((m) => m.role === "tool")!;
    expect(repair.content).toContain('server \\"infra\\" has no tool \\"nope\\"');
    expect(repair.content).toContain('unknown step \\"cache\\"');
    expect(final.report?.usage.filter((u) => u.agent === "architect")).toHaveLength(2);
  });

  it("stops with the validation messages when the model never repairs the plan; nothing runs", async () => {
    stub = await startOpenAIStub(script(INVALID_PLAN));
    const caller = infraCaller();
    const graph = compileOrchestrator(modelDeps(stub, caller, { maxRepairs: 2 }), new MemorySaver());
    const final = (await graph.invoke({ request: "Set up the shop" }, thread())) as RunState;
    expect(planCalls(stub)).toHaveLength(3);
    expect(final.report?.outcome).toBe("planning_failed");
    expect(final.report?.problems).toContain('step "db", tool: server "infra" has no tool "nope"');
    expect(final.report?.planner?.reason).toContain("no valid plan in 3 attempt(s)");
    expect(caller.calls).toHaveLength(0);
  });

  it("a plan over budget interrupts; approve runs it, reject runs nothing more and undoes the step that started while it streamed", async () => {
    const expensive = { ...VALID_PLAN, steps: VALID_PLAN.steps.map((s) => ({ ...s, estimate: { ms: 10, usd: 0.4 } })) };
    stub = await startOpenAIStub(script(expensive));
    const approveCaller = infraCaller();
    const graph = compileOrchestrator(modelDeps(stub, approveCaller), new MemorySaver());
    const yes = thread();
    await graph.invoke({ request: "Set up the shop" }, yes);
    const snapshot = await graph.getState(yes);
    expect(snapshot.next).toEqual(["approve"]);
    expect(JSON.stringify(snapshot.tasks[0]!.interrupts[0]!.value)).toContain("over the approval threshold");
    const approved = (await graph.invoke(new Command({ resume: { approved: true } }), yes)) as RunState;
    expect(approved.report?.status).toBe("succeeded");
    expect(approveCaller.calls.length).toBe(3);

    const rejectCaller = infraCaller();
    const graph2 = compileOrchestrator(modelDeps(stub, rejectCaller), new MemorySaver());
    const no = thread();
    await graph2.invoke({ request: "Set up the shop" }, no);
    const rejected = (await graph2.invoke(new Command({ resume: { approved: false } }), no)) as RunState;
    expect(rejected.report?.outcome).toBe("declined");
    // db's $0.40 stayed under the $0.50 threshold, so it started while the plan streamed; cache would cross it.
    expect(rejectCaller.calls.map((c) => `${c.tool}:${String(c.args["name"] ?? c.args["id"])}`)).toEqual(["create:shop-db", "delete:id-shop-db"]);
  });

  it("under streamMode messages (as the LangGraph server runs it) the summary reaches the stream and every call's usage is counted", async () => {
    stub = await startOpenAIStub(script(VALID_PLAN));
    const graph = compileOrchestrator(modelDeps(stub), new MemorySaver());
    const config = thread();
    const chunks: string[] = [];
    for await (const [chunk] of await graph.stream({ request: "Set up the shop" }, { ...config, streamMode: "messages" })) {
      chunks.push(String((chunk as { content?: unknown }).content ?? ""));
    }
    expect(chunks.join("")).toContain("All three steps succeeded");
    const final = (await graph.getState(config)).values as RunState;
    expect(final.report?.usage.find((u) => u.agent === "reporter")).toMatchObject({ input_tokens: 400, output_tokens: 30 });
    expect(final.report?.usage.find((u) => u.agent === "architect")).toMatchObject({ input_tokens: 1834, output_tokens: 212 });
    expect(final.report?.summary).toBe("All three steps succeeded in parallel.");
  });

  it("continues a session: the next request sees the earlier request and plan", async () => {
    stub = await startOpenAIStub(script(VALID_PLAN, { ...VALID_PLAN, steps: [...VALID_PLAN.steps, { id: "staging", tool: "infra.create", dependencies: ["db"], params: { name: "staging" } }] }));
    const saver = new MemorySaver();
    const memory = checkpointMemory(saver);
    const deps = { ...modelDeps(stub), memory };
    await compileOrchestrator(deps, saver).invoke({ request: "Set up the shop", session: "s1", dryRun: true }, thread());
    // A new process: a new graph on the same checkpointer.
    const final = (await compileOrchestrator({ ...modelDeps(stub), memory: checkpointMemory(saver) }, saver).invoke(
      { request: "also add a staging branch", session: "s1", dryRun: true },
      thread(),
    )) as RunState;
    const messages = planCalls(stub)[1]!.body["messages"] as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(messages[1]!.content).toBe("Set up the shop");
    expect(JSON.parse(messages[2]!.content).name).toBe("Shop stack");
    expect(messages[3]!.content).toContain("also add a staging branch");
    expect((final.plan as { steps: unknown[] }).steps).toHaveLength(4);
    expect(await memory.load(agentThread("s1", "architect"))).toHaveLength(4);
  });

  it("reuses a cached plan for the same first request (no model call), unless fresh", async () => {
    stub = await startOpenAIStub(script(VALID_PLAN));
    const ledger = await openLedger({ home: tempDir("co-arch-cache-") });
    try {
      const graph = compileOrchestrator(modelDeps(stub, infraCaller(), { ledger }), new MemorySaver());
      await graph.invoke({ request: "Set up the shop", dryRun: true }, thread());
      const again = (await graph.invoke({ request: "  set up the SHOP ", dryRun: true }, thread())) as RunState;
      expect(planCalls(stub)).toHaveLength(1);
      expect(again.report?.planner).toMatchObject({ kind: "model", cached: true, attempts: 0 });
      expect(again.report?.usage).toEqual([]);
      expect(again.report?.planner?.reason).toContain("no model call, 0 tokens");
      const fresh = (await graph.invoke({ request: "Set up the shop", dryRun: true, fresh: true }, thread())) as RunState;
      expect(planCalls(stub)).toHaveLength(2);
      expect(fresh.report?.planner?.cached).toBeUndefined();
      // Another model plans the same request itself: the cache keys on the model.
      const base = testDeps(infraCaller(), { ledger }, { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4.1" });
      const other = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
      const byOther = (await other.invoke({ request: "Set up the shop", dryRun: true }, thread())) as RunState;
      expect(planCalls(stub)).toHaveLength(3);
      expect(planCalls(stub)[2]!.body["model"]).toBe("gpt-4.1");
      expect(byOther.report?.planner?.cached).toBeUndefined();
    } finally {
      await ledger.close();
    }
  });

  it("routes calls per agent and step kind (cost config routing): repairs and the summary to other models", async () => {
    stub = await startOpenAIStub(script(INVALID_PLAN, VALID_PLAN));
    const base = modelDeps(stub);
    const routing = { "architect/repair": { model: "gpt-4.1-mini" }, reporter: { model: "gpt-4.1-nano" } };
    const graph = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing }, 0) }, new MemorySaver());
    const final = (await graph.invoke({ request: "Set up the shop" }, thread())) as RunState;
    expect(stub.requests.map((r) => r.body["model"])).toEqual(["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-nano"]);
    expect(final.report?.usage.map((u) => [u.agent, u.model, u.routedFrom])).toEqual([
      ["architect", "gpt-4o-mini", undefined],
      ["architect", "gpt-4.1-mini", "gpt-4o-mini"],
      ["reporter", "gpt-4.1-nano", "gpt-4o-mini"],
    ]);
  });

  it("arguments that are not JSON are answered on the same call id and repaired", async () => {
    let call = 0;
    stub = await startOpenAIStub((request: StubRequest): StubReply => {
      if (!Array.isArray(request.body["tools"])) return summaryReply;
      call++;
      return call === 1 ? { toolCalls: [{ name: "plan", arguments: '{"name": "Shop", "steps": [', id: "call_broken" }] } : planReply(VALID_PLAN);
    });
    const graph = compileOrchestrator(modelDeps(stub), new MemorySaver());
    const final = (await graph.invoke({ request: "Set up the shop", dryRun: true }, thread())) as RunState;
    expect(final.report?.planner).toMatchObject({ kind: "model", attempts: 2 });
    const second = planCalls(stub)[1]!.body["messages"] as { role: string; content: string; tool_call_id?: string }[];
    const answer = second.find((m) => m.role === "tool")!;
    expect(answer.tool_call_id).toBe("call_broken");
    expect(answer.content).toContain("not JSON");
  });

  it("jsonMode (servers without tool calling): the plan comes back as JSON text and is validated the same way", async () => {
    stub = await startOpenAIStub((request: StubRequest): StubReply =>
      request.body["response_format"] ? { content: JSON.stringify(VALID_PLAN), usage: PLAN_USAGE } : summaryReply,
    );
    // Chosen in the environment: CREDIT_OPTIMIZER_STRUCTURED_OUTPUT=jsonMode.
    const env = { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_STRUCTURED_OUTPUT: "jsonMode" };
    const base = testDeps(infraCaller(), {}, env);
    const graph = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, new MemorySaver());
    const final = (await graph.invoke({ request: "Set up the shop", dryRun: true }, thread())) as RunState;
    expect(stub.requests[0]!.body["response_format"]).toEqual({ type: "json_object" });
    expect(stub.requests[0]!.body["tools"]).toBeUndefined();
    expect(final.report?.outcome).toBe("planned");
    expect((final.plan as { name: string }).name).toBe("Shop stack");
  });
});

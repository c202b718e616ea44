import { Command, MemorySaver } from "@langchain/langgraph";
import { afterEach, describe, expect, it } from "vitest";
import type { OrchestratorDeps } from "../../agents/deps.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import type { RunState } from "../../graphs/state.ts";
import { agentThread, checkpointMemory } from "../../agents/memory.ts";
import { renderReport } from "../../src/cli/render.ts";
import { CostCallbackHandler } from "../../src/cost/callbacks.ts";
import { openLedger } from "../../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { ToolCallError } from "../../src/mcp/client.ts";
import { configuredChatModel } from "../../src/run/chat-models.ts";
import { testDeps } from "../graphs/helpers.ts";
import { infraCaller, type FakeCaller } from "../helpers/fake-caller.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

const PLAN = {
  name: "Shop stack",
  steps: [
    { id: "db", agent: "db", tool: "infra.create", dependencies: [], params: { name: "shop-db" } },
    { id: "cache", agent: "redis", tool: "infra.create", dependencies: [], params: { name: "shop-cache" } },
    { id: "deploy", agent: "deploy", tool: "infra.noop", dependencies: ["db", "cache"], params: { name: "shop", value: "${cache.id}" } },
  ],
};
const REPLACE = {
  action: "replace",
  reason: "the cache name is taken: use another",
  steps: [
    { id: "cache2", agent: "redis", tool: "infra.create", dependencies: [], params: { name: "shop-cache-2" } },
    { id: "deploy", agent: "deploy", tool: "infra.noop", dependencies: ["db", "cache2"], params: { name: "shop", value: "${cache2.id}" } },
  ],
};
const GIVE_UP = { action: "give_up", reason: "no other cache can serve the shop" };

const fnOf = (r: StubRequest): string | undefined => (r.body["tools"] as { function: { name: string } }[] | undefined)?.[0]?.function.name;
/** The plan for the plan function, the scripted answers (in order) for the replan function, a summary otherwise. */
const script = (...answers: unknown[]) => {
  let replans = 0;
  return (request: StubRequest): StubReply => {
    const fn = fnOf(request);
    if (fn === "plan") return { toolCalls: [{ name: "plan", arguments: PLAN }], usage: { prompt_tokens: 900, completion_tokens: 150 } };
    if (fn === "replan") return { toolCalls: [{ name: "replan", arguments: answers[Math.min(replans++, answers.length - 1)] }], usage: { prompt_tokens: 1200, completion_tokens: 90 } };
    return { content: "done", usage: { prompt_tokens: 10, completion_tokens: 2 } };
  };
};

/** `cache` fails as a name already taken; `db` returns a password, which must never reach the model. */
function shopCaller(): FakeCaller {
  const caller = infraCaller();
  const create = caller.tools.find((t) => t.name === "create")!;
  caller.tools.splice(caller.tools.indexOf(create), 1);
  caller.add("infra", "create", (args) => {
    const name = String(args["name"]);
    if (name === "shop-cache") throw new ToolCallError("TOOL_ERROR", `the name "shop-cache" is already taken`, false);
    return { id: `id-${name}`, name, password: "hunter2-very-secret", rollback: { tool: "delete", arguments: { id: `id-${name}` } } };
  }, create.inputSchema);
  return caller;
}

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

function graphOf(s: OpenAIStub | undefined, caller: FakeCaller, extra: Partial<OrchestratorDeps> = {}) {
  const env: Record<string, string> = s ? { OPENAI_BASE_URL: s.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" } : {};
  const base = testDeps(caller, extra, env);
  return compileOrchestrator({ ...base, ...(s ? { chatModel: configuredChatModel(base.config, { routing: {} }, 0) } : {}) }, new MemorySaver());
}
let n = 0;
const thread = () => ({ configurable: { thread_id: `replan-${++n}` } });
const replanCalls = (s: OpenAIStub) => s.requests.filter((r) => fnOf(r) === "replan");

describe("replan on failure (the joiner)", () => {
  it("a replacement for the unfinished part runs on without calling finished steps again; the report says what was replanned", async () => {
    stub = await startOpenAIStub(script(REPLACE));
    const caller = shopCaller();
    const final = (await graphOf(stub, caller).invoke({ request: "Set up the shop", autoApprove: true }, thread())) as RunState;
    expect(final.report?.status).toBe("succeeded");
    expect(caller.callsOf("create").map((c) => c.args["name"])).toEqual(expect.arrayContaining(["shop-db", "shop-cache", "shop-cache-2"]));
    expect(caller.callsOf("create").filter((c) => c.args["name"] === "shop-db")).toHaveLength(1);
    expect(caller.callsOf("delete")).toEqual([]);
    expect(caller.callsOf("noop")[0]!.args["value"]).toBe("id-shop-cache-2");
    expect(final.report?.replans).toEqual([
      expect.objectContaining({ failed: expect.objectContaining({ step: "cache", error: expect.stringContaining("already taken") }), verdict: "replanned", kept: ["db"], steps: ["cache2", "deploy"] }),
    ]);
    expect(final.report?.steps.map((s) => [s.id, s.status]).sort()).toEqual([["cache2", "succeeded"], ["db", "succeeded"], ["deploy", "succeeded"]]);
    // The replan is its own model call, counted with the others.
    expect(final.report?.usage.filter((u) => u.agent === "architect").map((u) => u.input_tokens)).toEqual([900, 1200]);
    expect(final.report?.replans?.[0]).toMatchObject({ tokens: { input: 1200, output: 90 }, changes: ["+ cache2 (infra.create)", "~ deploy: params, dependencies", "- cache"] });
    // The human report shows the original failure, the replan with its tokens, and what changed.
    const text = renderReport(final.report!);
    expect(text).toContain('✗ cache (infra.create) failed: the name "shop-cache" is already taken');
    expect(text).toContain("⟳ replan 1: replanned — the cache name is taken: use another (1 model call(s), 1200 prompt + 90 completion tokens)");
    expect(text).toMatch(/kept: db \(not called again\)\n\s+\+ cache2 \(infra\.create\)\n\s+~ deploy: params, dependencies\n\s+- cache/);
    const prompt = JSON.stringify(replanCalls(stub)[0]!.body["messages"]);
    expect(prompt).toContain("id-shop-db");
    expect(prompt).toContain("already taken");
    expect(prompt).not.toContain("hunter2-very-secret");
    expect(prompt).toContain("[redacted]");
  });

  it("the replan is in the architect's session thread and in the ledger as its own model call", async () => {
    stub = await startOpenAIStub(script(REPLACE));
    const saver = new MemorySaver();
    const memory = checkpointMemory(saver);
    const ledger = await openLedger({ home: tempDir("co-replan-ledger-") });
    try {
      const env = { OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-test-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" };
      // As the composition root wires it: the cost callback writes each model call (the reporter does not again).
      const base = testDeps(shopCaller(), { memory, ledger, recordModelCalls: false }, env);
      const graph = compileOrchestrator({ ...base, chatModel: configuredChatModel(base.config, { routing: {} }, 0) }, saver);
      const costs = new CostCallbackHandler({ pricing: DEFAULT_PRICING, ledger, runId: "replan-ledger" });
      const final = (await graph.invoke({ request: "Set up the shop", session: "s-replan", autoApprove: true }, { configurable: { thread_id: "replan-ledger" }, callbacks: [costs] })) as RunState;
      await costs.flush();
      expect(final.report?.status).toBe("succeeded");
      const turns = await memory.load(agentThread("s-replan", "architect"));
      expect(turns.map((t) => t.role)).toEqual(["user", "assistant", "user", "assistant"]);
      expect(turns[2]!.content).toBe('(replan) step "cache" failed: the name "shop-cache" is already taken');
      expect(JSON.parse(turns[3]!.content).steps.map((s: { id: string }) => s.id)).toEqual(["db", "cache2", "deploy"]);
      const calls = (await ledger.modelCalls({ runId: "replan-ledger" })).filter((c) => c.agent === "architect");
      expect(calls.map((c) => c.inputTokens).sort()).toEqual([1200, 900].sort());
    } finally {
      await ledger.close();
    }
  });

  it('"give up" rolls back as before, after asking', async () => {
    stub = await startOpenAIStub(script(GIVE_UP));
    const caller = shopCaller();
    const final = (await graphOf(stub, caller).invoke({ request: "Set up the shop", autoApprove: true }, thread())) as RunState;
    expect(replanCalls(stub)).toHaveLength(1);
    expect(final.report?.status).toBe("rolled_back");
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-shop-db"]);
    expect(final.report?.replans).toEqual([expect.objectContaining({ verdict: "gave_up", reason: GIVE_UP.reason, tokens: { input: 1200, output: 90 } })]);
    expect(renderReport(final.report!)).toContain(`⟳ replan 1: gave up — ${GIVE_UP.reason} (1 model call(s), 1200 prompt + 90 completion tokens) — rolled back`);
  });

  it("an answer that stays invalid through its repairs rolls back; its problems are reported", async () => {
    const bad = { action: "replace", reason: "x", steps: [{ id: "db", tool: "infra.nope", dependencies: [], params: {} }] };
    stub = await startOpenAIStub(script(bad));
    const caller = shopCaller();
    const final = (await graphOf(stub, caller, { maxRepairs: 1 }).invoke({ request: "Set up the shop", autoApprove: true }, thread())) as RunState;
    expect(replanCalls(stub)).toHaveLength(2);
    expect(final.report?.status).toBe("rolled_back");
    expect(final.report?.replans?.[0]).toMatchObject({ verdict: "invalid", attempts: 2 });
    expect(final.report?.replans?.[0]?.problems?.join(" ")).toContain('duplicate step id "db"');
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-shop-db"]);
  });

  it("a replacement with a destructive step asks for approval even with --yes; declining rolls back", async () => {
    const destructive = { ...REPLACE, steps: [{ id: "free", tool: "infra.delete", dependencies: [], params: { id: "shop-cache" } }, ...REPLACE.steps] };
    stub = await startOpenAIStub(script(destructive));
    const caller = shopCaller();
    const graph = graphOf(stub, caller);
    const config = thread();
    const paused = (await graph.invoke({ request: "Set up the shop", autoApprove: true }, config)) as RunState & { __interrupt__?: { value: { kind: string; decision: { destructiveSteps: string[] } } }[] };
    const question = paused.__interrupt__?.[0]?.value;
    expect(question?.kind).toBe("approval");
    expect(question?.decision.destructiveSteps).toEqual(["free"]);
    expect(caller.callsOf("delete")).toEqual([]);
    const final = (await graph.invoke(new Command({ resume: false }), config)) as RunState;
    expect(final.report?.status).toBe("rolled_back");
    expect(caller.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-shop-db"]);
    expect(final.report?.replans?.[0]?.verdict).toBe("replanned");
    expect(final.report?.outcome).toBe("declined");
  });

  it("offline, or with replans set to 0, a failure rolls back at once as today", async () => {
    const offline = shopCaller();
    const plain = (await graphOf(undefined, offline).invoke({ plan: PLAN, planner: { kind: "file", reason: "test" }, autoApprove: true }, thread())) as RunState;
    expect(plain.report?.status).toBe("rolled_back");
    expect(plain.report?.replans).toBeUndefined();
    expect(offline.callsOf("delete").map((c) => c.args["id"])).toEqual(["id-shop-db"]);
    expect(plain.report?.summary).not.toContain("replan");

    stub = await startOpenAIStub(script(REPLACE));
    const caller = shopCaller();
    const off = (await graphOf(stub, caller, { maxReplans: 0 }).invoke({ request: "Set up the shop", autoApprove: true }, thread())) as RunState;
    expect(replanCalls(stub)).toHaveLength(0);
    expect(off.report?.status).toBe("rolled_back");
  });
});

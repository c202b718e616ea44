/**
 * Executing while the plan streams, against waiting for the whole plan: the OpenAI-compatible
 * stand-in streams a RAD-shaped plan (code, database, cache, app, secrets, deploy) at a set token
 * rate, and the orchestrator runs it on in-process tools with fixed durations. Per mode, the median
 * over RUNS of: time from the request to the first step started, the first step's start after its
 * JSON was complete in the stream (an upper bound: it includes building the prompt), and the whole
 * run. Also the joiner on injected failures: how many it repaired, at what tokens.
 *
 *   npm run bench -- --only model-planning        (MODEL_PLANNING_TPS / _RUNS are not read: edit TPS, RUNS)
 */
import { MemorySaver } from "@langchain/langgraph";
import type { OrchestratorDeps } from "../agents/deps.ts";
import { compileOrchestrator } from "../graphs/orchestrator.ts";
import type { RunState } from "../graphs/state.ts";
import { loadConfig } from "../src/config.ts";
import { ServerLimits } from "../src/engine/limits.ts";
import { ToolCallError } from "../src/mcp/client.ts";
import { configuredChatModel } from "../src/run/chat-models.ts";
import { library } from "../tests/graphs/helpers.ts";
import { FakeCaller, sleep } from "../tests/helpers/fake-caller.ts";
import { closedSteps } from "../src/models/streamed-plan.ts";
import { countTokens, startOpenAIStub, tokenPieces, type StubReply, type StubRequest } from "../tests/helpers/openai-stub.ts";

/** The rate: 50 tokens per second. */
const TPS = 50;
const RUNS = 5;

const step = (id: string, tool: string, name: string, dependencies: string[] = [], value?: string) => ({ id, agent: id, tool, dependencies, params: { name, ...(value ? { value } : {}) } });
const RAD_PLAN = {
  name: "RAD Crawler",
  description: "Code, a Neon database, an Upstash Redis, a Fly app, its secrets, and the deploy.",
  steps: [
    step("generate_code", "infra.noop", "rad-crawler-code"),
    step("create_database", "infra.create", "rad-crawler-db"),
    step("create_redis", "infra.create", "rad-crawler-cache"),
    step("create_fly_app", "infra.create", "rad-crawler-app"),
    step("set_secrets", "infra.noop", "rad-crawler-secrets", ["create_database", "create_redis", "create_fly_app"], "${create_database.id} ${create_redis.id}"),
    step("deploy_app", "infra.noop", "rad-crawler-deploy", ["generate_code", "set_secrets"], "${create_fly_app.id}"),
  ],
};
/** Milliseconds each call takes, by name (roughly the local provider's order of magnitude). */
const DURATIONS: Record<string, number> = {
  "rad-crawler-code": 1500,
  "rad-crawler-db": 1200,
  "rad-crawler-cache": 600,
  "rad-crawler-app": 500,
  "rad-crawler-secrets": 200,
  "rad-crawler-deploy": 1500,
};

function caller(fail?: (name: string, call: number) => string | undefined): FakeCaller {
  const c = new FakeCaller();
  const schema = { type: "object", properties: { name: { type: "string" }, value: {} }, required: ["name"], additionalProperties: false };
  c.add("infra", "create", async (args, n) => {
    const name = String(args["name"]);
    await sleep(DURATIONS[name] ?? 100);
    const why = fail?.(name, n);
    if (why) throw new ToolCallError("TOOL_ERROR", why, false);
    return { id: `id-${name}`, name, rollback: { tool: "delete", arguments: { id: `id-${name}` } } };
  }, schema);
  c.add("infra", "delete", async (args) => ({ deleted: args["id"] }), { type: "object", properties: { id: { type: "string" } }, required: ["id"] }, { destructiveHint: true });
  c.add("infra", "noop", async (args) => {
    const name = String(args["name"]);
    await sleep(DURATIONS[name] ?? 100);
    const why = fail?.(name, 0);
    if (why) throw new ToolCallError("TOOL_ERROR", why, false);
    return { name, value: args["value"] };
  }, schema, { readOnlyHint: true });
  return c;
}

const fnOf = (r: StubRequest): string | undefined => (r.body["tools"] as { function: { name: string } }[] | undefined)?.[0]?.function.name;

function depsFor(baseUrl: string, tools: FakeCaller, extra: Partial<OrchestratorDeps>): OrchestratorDeps {
  const config = loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-bench-model-planning", OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: "sk-bench-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" });
  const ctx = { caller: tools, limits: new ServerLimits(8) };
  return { config, library: async () => library, context: async () => ctx, chatModel: configuredChatModel(config, { routing: {} }, 0), ...extra };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function latency(mode: "streamed-execution" | "wait-for-plan"): Promise<{ firstStepMs: number; afterJsonMs: number; totalMs: number; planStreamMs: number }> {
  const stub = await startOpenAIStub((r): StubReply => (fnOf(r) === "plan" ? { toolCalls: [{ name: "plan", arguments: RAD_PLAN }] } : { content: "done" }), { tokensPerSecond: TPS });
  try {
    let first: number | undefined;
    const started = performance.now();
    const deps = depsFor(stub.baseUrl, caller(), {
      executeWhileStreaming: mode === "streamed-execution",
      onEvent: (e) => {
        if (e.type === "step_started") first ??= performance.now();
      },
    });
    const graph = compileOrchestrator(deps, new MemorySaver());
    const final = (await graph.invoke({ request: "Set up RAD Crawler", autoApprove: true }, { configurable: { thread_id: `bench-${mode}-${Math.random()}` } })) as RunState;
    const totalMs = performance.now() - started;
    if (final.report?.status !== "succeeded") throw new Error(`bench run ${mode}: ${final.report?.status} ${final.report?.problems.join("; ")}`);
    const streamed = final.planner?.streamed ?? [];
    const firstStepMs = (first ?? performance.now()) - started;
    return { firstStepMs, afterJsonMs: firstStepMs - (streamed[0]?.atMs ?? 0), totalMs, planStreamMs: streamed.at(-1)?.atMs ?? 0 };
  } finally {
    await stub.close();
  }
}

interface Injected {
  name: string;
  fail: (name: string, call: number) => string | undefined;
  answer: unknown;
}

/** The joiner on injected failures: a replacement answer that fixes it, or one that declines. */
const INJECTED: Injected[] = [
  {
    name: "a name already taken",
    fail: (name) => (name === "rad-crawler-cache" ? 'the name "rad-crawler-cache" is already taken' : undefined),
    answer: { action: "replace", reason: "the name is taken", steps: [step("create_redis_2", "infra.create", "rad-crawler-cache-2"), step("set_secrets", "infra.noop", "rad-crawler-secrets", ["create_database", "create_redis_2", "create_fly_app"]), step("deploy_app", "infra.noop", "rad-crawler-deploy", ["generate_code", "set_secrets"])] },
  },
  {
    name: "a wrong region",
    fail: (name) => (name === "rad-crawler-db" ? "region us-east-9 does not exist (known: us-east-1, eu-central-1)" : undefined),
    answer: { action: "replace", reason: "use a region that exists", steps: [step("create_database", "infra.create", "rad-crawler-db-eu"), step("set_secrets", "infra.noop", "rad-crawler-secrets", ["create_database", "create_redis", "create_fly_app"]), step("deploy_app", "infra.noop", "rad-crawler-deploy", ["generate_code", "set_secrets"])] },
  },
  {
    name: "a dependency that fails",
    fail: (name) => (name === "rad-crawler-secrets" ? "the secrets store is down" : undefined),
    answer: { action: "give_up", reason: "the deploy needs its secrets and the store is down" },
  },
];

async function replans(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const injected of INJECTED) {
    const stub = await startOpenAIStub((r): StubReply => {
      const fn = fnOf(r);
      if (fn === "plan") return { toolCalls: [{ name: "plan", arguments: RAD_PLAN }] };
      if (fn === "replan") return { toolCalls: [{ name: "replan", arguments: injected.answer }] };
      return { content: "done" };
    }, { countTokens: true });
    try {
      const graph = compileOrchestrator(depsFor(stub.baseUrl, caller(injected.fail), { executeWhileStreaming: false }), new MemorySaver());
      const final = (await graph.invoke({ request: "Set up RAD Crawler", autoApprove: true }, { configurable: { thread_id: `bench-replan-${Math.random()}` } })) as RunState;
      const call = stub.requests.find((r) => fnOf(r) === "replan");
      const usage = (final.report?.usage ?? []).filter((u) => u.agent === "architect");
      out.push({
        failure: injected.name,
        verdict: final.report?.replans?.[0]?.verdict,
        status: final.report?.status,
        replanPromptTokens: usage[1]?.input_tokens ?? 0,
        replanCompletionTokens: usage[1]?.output_tokens ?? 0,
        replanRequestChars: call ? JSON.stringify(call.body["messages"]).length : 0,
      });
    } finally {
      await stub.close();
    }
  }
  return out;
}

/**
 * The best any executor could do with this plan at TPS, with no overhead at all: each step starts at the
 * later of its JSON's closing brace in the stream (the stand-in sends one o200k token per chunk) and its
 * dependencies' (declared and referenced) ends, and takes its fixed duration. Plan-then-run starts every
 * step at the stream's end. The ratio of the two is the floor for the measured total ratio: what is left
 * above it is ours (overheads, or a step waiting longer than it must).
 */
export function bestRatio(plan: typeof RAD_PLAN = RAD_PLAN, tps = TPS): { streamEndMs: number; completeAtMs: Record<string, number>; streamedMs: number; planThenRunMs: number; ratio: number; tailChain: string[] } {
  const pieces = tokenPieces(JSON.stringify(plan));
  const completeAtMs: Record<string, number> = {};
  let text = "";
  let done = 0;
  pieces.forEach((piece, i) => {
    text += piece;
    for (const closed = closedSteps(text); done < closed; done++) completeAtMs[plan.steps[done]!.id] = ((i + 1) * 1000) / tps;
  });
  const streamEndMs = (pieces.length * 1000) / tps;
  const depsOf = (s: (typeof plan.steps)[number]): string[] => [...new Set([...s.dependencies, ...[...JSON.stringify(s.params).matchAll(/\$\{(\w+)\./g)].map((m) => m[1]!)])];
  const schedule = (ready: (id: string) => number): { end: Record<string, number>; chain: Record<string, string[]> } => {
    const end: Record<string, number> = {};
    const chain: Record<string, string[]> = {};
    for (const s of plan.steps) {
      const deps = depsOf(s);
      const last = deps.reduce<string | undefined>((a, d) => (a === undefined || end[d]! > end[a]! ? d : a), undefined);
      const start = Math.max(ready(s.id), last ? end[last]! : 0);
      end[s.id] = start + (DURATIONS[s.params.name] ?? 100);
      chain[s.id] = last && end[last]! >= ready(s.id) ? [...chain[last]!, s.id] : [s.id];
    }
    return { end, chain };
  };
  const streamed = schedule((id) => completeAtMs[id] ?? streamEndMs);
  const waited = schedule(() => streamEndMs);
  const lastId = Object.entries(streamed.end).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const streamedMs = Math.max(...Object.values(streamed.end));
  const planThenRunMs = Math.max(...Object.values(waited.end));
  return { streamEndMs, completeAtMs, streamedMs, planThenRunMs, ratio: Number((streamedMs / planThenRunMs).toFixed(3)), tailChain: streamed.chain[lastId]! };
}

export async function benchModelPlanning(): Promise<Record<string, unknown>> {
  countTokens("");
  const modes = ["streamed-execution", "wait-for-plan"] as const;
  const samples: Record<string, Awaited<ReturnType<typeof latency>>[]> = { "streamed-execution": [], "wait-for-plan": [] };
  // Alternating, so load on the shared machine hits both modes alike.
  for (let i = 0; i < RUNS; i++) for (const mode of modes) samples[mode]!.push(await latency(mode));
  const summary = Object.fromEntries(modes.map((mode) => {
    const s = samples[mode]!;
    return [mode, { firstStepMedianMs: Math.round(median(s.map((x) => x.firstStepMs))), firstStepAfterItsJsonMedianMs: Math.round(median(s.map((x) => x.afterJsonMs))), totalMedianMs: Math.round(median(s.map((x) => x.totalMs))), planStreamMedianMs: Math.round(median(s.map((x) => x.planStreamMs))) }];
  }));
  const streamedTotal = summary["streamed-execution"]!.totalMedianMs;
  const waitTotal = summary["wait-for-plan"]!.totalMedianMs;
  const repaired = await replans();
  const bound = bestRatio();
  // The same fixed costs (prompt, graph, reporter) on both sides: the measured wait-for-plan total minus its ideal.
  const overheadMs = Math.max(0, waitTotal - bound.planThenRunMs);
  return {
    tokensPerSecond: TPS,
    runs: RUNS,
    planCompletionTokens: countTokens(JSON.stringify(RAD_PLAN)),
    ...summary,
    totalRatio: Number((streamedTotal / waitTotal).toFixed(3)),
    totalShorterPct: Math.round((1 - streamedTotal / waitTotal) * 100),
    bestRatio: bound.ratio,
    bestRatioWithMeasuredOverhead: Number(((bound.streamedMs + overheadMs) / (bound.planThenRunMs + overheadMs)).toFixed(3)),
    bestShorterPct: Math.round((1 - bound.ratio) * 100),
    bound: { streamEndMs: bound.streamEndMs, stepJsonCompleteAtMs: bound.completeAtMs, streamedIdealMs: bound.streamedMs, planThenRunIdealMs: bound.planThenRunMs, chainAfterLastJson: bound.tailChain, overheadMs: Math.round(overheadMs) },
    replans: repaired,
    replansRepaired: `${repaired.filter((r) => r["verdict"] === "replanned" && r["status"] === "succeeded").length}/${repaired.length}`,
  };
}

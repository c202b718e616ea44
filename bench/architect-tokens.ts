/**
 * Prompt tokens the architect sends per request (o200k, counted by the OpenAI-compatible stand-in),
 * before and after the token diet, on the RAD request and on the planner's evaluation requests that
 * plan something; and whether the tools each request's plan needs were among the tools sent
 * (`covered`: the scripted model answers with the offline planner's plan for the request).
 * "before" rebuilds the old prompt: the whole catalog as JSON schemas plus three example plans.
 *
 *   npm run bench -- --only architect-tokens
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { architect } from "../agents/architect.ts";
import type { RunState } from "../graphs/state.ts";
import { loadConfig } from "../src/config.ts";
import { AGENT_INSTANCE_PREFIX, isDestructiveTool, type ToolInfo } from "../src/mcp/catalog.ts";
import { quoteData } from "../src/models/prompt-format.ts";
import { planOffline, rankWorkflows } from "../src/planner/index.ts";
import { configuredChatModel } from "../src/run/chat-models.ts";
import { loadWorkflowLibrary, openRoot } from "../src/run/root.ts";
import { CASES, INVENTORY } from "../tests/fixtures/planner/eval-set.ts";
import { countTokens, promptTokensOf, startOpenAIStub } from "../tests/helpers/openai-stub.ts";
import { ARCHITECT_SYSTEM_PROMPT } from "../prompts/architect.ts";

const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";
const REQUESTS = 20;

export async function benchArchitectTokens(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-tokens-"));
  const library = await loadWorkflowLibrary();
  const inventory = async (kind: keyof typeof INVENTORY) => INVENTORY[kind];
  const requests = [RAD, ...CASES.filter((c) => c.expect.length > 0).map((c) => c.request)].slice(0, REQUESTS);
  const plans = new Map<string, unknown>();
  for (const request of requests) {
    const offline = await planOffline(request, { library, inventory });
    if (offline.kind === "plan") plans.set(request, offline.plan);
  }
  let current = "";
  const stub = await startOpenAIStub(() => ({ toolCalls: [{ name: "plan", arguments: plans.get(current) ?? { name: "none", steps: [] } }] }), { countTokens: true });
  const config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "ws"), PATH: process.env.PATH, OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-bench-not-real", CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini" }, home);
  const root = await openRoot(config);
  try {
    const context = await root.context();
    const tools = context.caller.tools;
    const deps = { ...root.deps, ledger: undefined, memory: undefined, maxRepairs: 0, chatModel: configuredChatModel(config, { routing: {} }, 0) };
    const rows: { request: string; before: number; after: number; sentTools: number; covered: boolean | null; firstTry: boolean | null }[] = [];
    for (const request of requests) {
      current = request;
      const seen = stub.requests.length;
      const update = await architect({ request, params: {} } as unknown as RunState, deps);
      const body = stub.requests[seen]!.body;
      const user = (body["messages"] as { role: string; content: string }[]).at(-1)!.content;
      const sent = new Set([...user.matchAll(/^([a-z_-]+\.[a-z0-9_]+)\(/gm)].map((m) => m[1]));
      const plan = plans.get(request) as { steps: { tool: string }[] } | undefined;
      rows.push({
        request,
        before: beforeTokens(request, tools, library, body),
        after: promptTokensOf(body),
        sentTools: sent.size,
        covered: plan ? plan.steps.every((s) => sent.has(s.tool) || sent.has(`toolkit.${s.tool}`)) : null,
        firstTry: plan ? update.planner.attempts === 1 && update.plan !== undefined : null,
      });
    }
    const rad = rows[0]!;
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const withPlan = rows.filter((r) => r.covered !== null);
    return {
      tokenizer: "o200k_base (js-tiktoken)",
      rad: { before: rad.before, after: rad.after, ratio: Math.round((rad.after / rad.before) * 100) / 100, sentTools: rad.sentTools, of: tools.length },
      requests: rows.length,
      medianBefore: median(rows.map((r) => r.before)),
      medianAfter: median(rows.map((r) => r.after)),
      maxAfter: Math.max(...rows.map((r) => r.after)),
      covered: `${withPlan.filter((r) => r.covered).length}/${withPlan.length}`,
      firstTryValid: `${withPlan.filter((r) => r.firstTry).length}/${withPlan.length}`,
      rows,
    };
  } finally {
    await root.close();
    await stub.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** The old prompt: the whole catalog with JSON input schemas and three example plans in the system prompt, same plan function. */
function beforeTokens(request: string, tools: readonly ToolInfo[], library: Awaited<ReturnType<typeof loadWorkflowLibrary>>, body: Record<string, unknown>): number {
  const catalog = tools
    .filter((t) => !t.server.startsWith(AGENT_INSTANCE_PREFIX))
    .map((t) => ({ tool: `${t.server}.${t.name}`, description: (t.description.split("\n")[0] ?? "").slice(0, 200), destructive: isDestructiveTool(t), input_schema: t.inputSchema }));
  const examples = rankWorkflows(request, library.workflows).slice(0, 3).map((m) => {
    const t = library.workflows.find((w) => w.id === m.id)!;
    return { id: t.id, name: t.name, description: t.description, example_requests: t.examples.slice(0, 2), plan: t.plan };
  });
  return countTokens(ARCHITECT_SYSTEM_PROMPT) + countTokens(quoteData(catalog)) + countTokens(quoteData(examples)) + countTokens(`Request: ${request}`) + countTokens(JSON.stringify(body["tools"]));
}

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Report } from "../../agents/types.ts";
import { runCli } from "../helpers/cli.ts";
import { fakeServer, tempDir } from "../helpers/fake-mcp.ts";
import { startLangSmithStub, type LangSmithStub } from "../helpers/langsmith-stub.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply, type StubRequest } from "../helpers/openai-stub.ts";

const OPENAI_KEY = "sk-test-0123456789abcdefSECRET";
const LANGSMITH_KEY = "lsv2_pt_0123456789abcdefSECRET";
const PLAN = {
  name: "Database and cache",
  steps: [
    { id: "create_db", agent: "db", tool: "toolkit.toolkit_call", dependencies: [], params: { category: "neon", tool_name: "neon_create_project", arguments: { name: "shopdb", note: "deploy key sk-live-0123456789abcdef" } } },
    { id: "create_cache", agent: "redis", tool: "toolkit.toolkit_call", dependencies: [], params: { category: "upstash", tool_name: "upstash_create_database", arguments: { name: "shopcache" } } },
    {
      id: "wire",
      agent: "deploy",
      tool: "toolkit.toolkit_call",
      dependencies: [],
      params: { category: "vercel", tool_name: "vercel_deploy", arguments: { env: { DATABASE_URL: "${create_db.connection_string}", REDIS_URL: "${create_cache.url}" } } },
    },
  ],
};

let openai: OpenAIStub | undefined;
let langsmith: LangSmithStub | undefined;
afterEach(async () => {
  await openai?.close();
  await langsmith?.close();
  openai = langsmith = undefined;
});

function setup(endpoint: string): Record<string, string> {
  const dir = tempDir("co-ls-");
  const home = path.join(dir, ".co");
  mkdirSync(home, { recursive: true });
  // The stand-in runs on localhost; price it as the model it claims to be.
  writeFileSync(path.join(home, "config.json"), JSON.stringify({ pricing: { localUrlsFree: false } }));
  const mcp = path.join(dir, "mcp.json");
  writeFileSync(mcp, JSON.stringify({ mcpServers: { toolkit: fakeServer("toolkit", path.join(dir, "calls.jsonl")) } }));
  return {
    CREDIT_OPTIMIZER_HOME: home,
    CREDIT_OPTIMIZER_MCP_CONFIG: mcp,
    OPENAI_BASE_URL: openai!.baseUrl,
    OPENAI_API_KEY: OPENAI_KEY,
    CREDIT_OPTIMIZER_MODEL: "gpt-4o-mini",
    LANGSMITH_TRACING: "true",
    LANGSMITH_ENDPOINT: endpoint,
    LANGSMITH_API_KEY: LANGSMITH_KEY,
    LANGSMITH_PROJECT: "credit-optimizer-test",
  };
}

const script = (request: StubRequest): StubReply =>
  Array.isArray(request.body["tools"])
    ? { toolCalls: [{ name: "plan", arguments: PLAN }], usage: { prompt_tokens: 2000, completion_tokens: 300 } }
    : { content: "Both resources were created.", usage: { prompt_tokens: 500, completion_tokens: 40 } };

describe("LangSmith tracing (local stand-in receiving /runs/multipart)", () => {
  it("traces model calls with agent, tokens and cost, tool steps with their step id, and no secret in any payload", async () => {
    openai = await startOpenAIStub(script);
    langsmith = await startLangSmithStub();
    const result = await runCli(["run", "create a database and a cache", "--yes", "--json"], setup(langsmith.url));
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.status).toBe("succeeded");

    const runs = langsmith.runs();
    const llm = runs.filter((r) => r.run_type === "llm");
    const architect = llm.find((r) => r.extra?.metadata?.["agent"] === "architect");
    expect(architect).toBeDefined();
    const usage = architect!.extra!.metadata!["usage_metadata"] as Record<string, number>;
    expect(usage).toMatchObject({ input_tokens: 2000, output_tokens: 300 });
    // gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
    expect(usage["input_cost"]).toBeCloseTo(0.0003, 10);
    expect(usage["output_cost"]).toBeCloseTo(0.00018, 10);
    expect(usage["total_cost"]).toBeCloseTo(0.00048, 10);
    expect(llm.find((r) => r.extra?.metadata?.["agent"] === "reporter")?.extra?.metadata?.["usage_metadata"]).toMatchObject({ input_tokens: 500, output_tokens: 40 });
    const steps = runs.filter((r) => typeof r.extra?.metadata?.["step_id"] === "string").map((r) => r.extra!.metadata!["step_id"]);
    expect(new Set(steps)).toEqual(new Set(["create_db", "create_cache", "wire"]));

    const everything = langsmith.payloads.join("\n");
    // The fake tool returns postgres://user:pw-shopdb@… and redis://default:pw-shopcache@…
    expect(everything).not.toContain("pw-shopdb");
    expect(everything).not.toContain("pw-shopcache");
    // Free text the secret store does not hold (the plan, the tool's echo of its arguments) is scrubbed too.
    expect(everything).not.toContain("sk-live-0123456789abcdef");
    expect(everything).toContain("deploy key sk-[redacted]");
    expect(everything).not.toContain(OPENAI_KEY);
    expect(everything).not.toContain(LANGSMITH_KEY);
    expect(everything).toContain("secret://");
  });

  it("an unreachable endpoint does not hold the CLI: the flush is bounded", async () => {
    openai = await startOpenAIStub(script);
    langsmith = await startLangSmithStub();
    const closed = langsmith.url;
    await langsmith.close();
    langsmith = undefined;
    const result = await runCli(["run", "create a database and a cache", "--yes", "--json"], setup(closed));
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Report).status).toBe("succeeded");
  });
});

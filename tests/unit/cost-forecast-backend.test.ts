import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterEach, describe, expect, it } from "vitest";
import { checkBudget } from "../../src/cost/budget.ts";
import { forecastPlan } from "../../src/cost/forecast.ts";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { createStepRecorder } from "../../src/cost/recorder.ts";
import type { StepResult } from "../../src/engine/run-step.ts";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { preparePlan } from "../../src/plan/validate.ts";
import { createToolkitServer } from "../../src/servers/toolkit/server.ts";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";
import { getWorkflow, instantiate } from "../../src/workflows/index.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const clients: Client[] = [];
let ledger: Ledger | undefined;
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await ledger?.close();
  ledger = undefined;
});

/** The tools a real MCP client lists from a server, as the runtime's catalog keeps them. */
async function toolsOf(name: string, server: McpServer): Promise<ToolInfo[]> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientTransport);
  clients.push(client);
  const { tools } = await client.listTools();
  return tools.map((t) => ({ server: name, name: t.name, description: t.description ?? "", inputSchema: t.inputSchema as Record<string, unknown>, annotations: t.annotations, meta: t._meta }));
}

const LOCAL_ENV = { dataDir: tempDir("co-fb-"), localPostgresUrl: "postgres://postgres@127.0.0.1:5432/postgres", localRedisUrl: "redis://127.0.0.1:6379" };
const CLOUD_ENV = { ...LOCAL_ENV, vercel: { token: "t", baseUrl: "http://127.0.0.1:1" }, neon: { apiKey: "k", baseUrl: "http://127.0.0.1:1" }, upstash: { email: "e", apiKey: "k", baseUrl: "http://127.0.0.1:1" } };

async function radPlan(toolkitEnv: typeof LOCAL_ENV, model?: { name: string }) {
  const tools = [...(await toolsOf("toolkit", createToolkitServer(toolkitEnv))), ...(await toolsOf("workspace", createWorkspaceServer({ root: tempDir("co-fb-ws-"), model })))];
  const plan = instantiate(getWorkflow("rad-crawler-setup")!, {});
  return { tools, prepared: preparePlan(plan, { tools }) };
}

describe("a forecast that knows the backend and learns", () => {
  it("forecasts the offline RAD run (local provider, template code generation) at $0 and local times, under the approval threshold", async () => {
    const { tools, prepared } = await radPlan(LOCAL_ENV);
    const forecast = await forecastPlan(prepared, { pricing: DEFAULT_PRICING, tools });
    expect(forecast.usd).toEqual({ p50: 0, p90: 0 });
    expect(forecast.perStep.every((s) => s.source === "backend")).toBe(true);
    // Critical path: template codegen (200 ms) ∥ project → database (500 + 500), then the app (500), then the local deploy (3000).
    expect(forecast.durationMs.p50).toBe(500 + 500 + 500 + 3000);
    const verdict = checkBudget({ forecast, caps: { dailyUsd: 10, monthlyUsd: 100, approvalUsd: 0.5 }, spentToday: 0, spentThisMonth: 0, destructiveSteps: [] });
    expect(verdict).toEqual({ decision: "ok", reasons: [] });
  });

  it("keeps the plan's cloud estimates where a cloud backend or a model serves the step", async () => {
    const { tools, prepared } = await radPlan(CLOUD_ENV, { name: "gpt-4o-mini" });
    const forecast = await forecastPlan(prepared, { pricing: DEFAULT_PRICING, tools });
    expect(forecast.perStep.every((s) => s.source === "estimate")).toBe(true);
    expect(forecast.usd.p50).toBeCloseTo(0.61, 10);
  });

  it("learns cost and duration from one run, and leaves out history from another backend", async () => {
    ledger = await openLedger({ home: tempDir("co-fb-ledger-") });
    const { tools, prepared } = await radPlan(CLOUD_ENV, { name: "gpt-4o-mini" });
    const recorder = createStepRecorder(ledger, "run-1", prepared, { tools });
    const at = Date.now();
    const outputs: Record<string, unknown> = {
      generate_code: { usage: { inputTokens: 20_000, outputTokens: 10_000, model: "gpt-4o-mini" } },
      deploy_app: { url: "https://x", cost_usd: 0.002 },
    };
    for (const id of prepared.order) {
      const resolved = prepared.tools[id]!;
      const result: StepResult = { id, tool: `${resolved.server}.${resolved.tool}`, status: "succeeded", attempts: 1, startedAtMs: at, endedAtMs: at + 40, output: outputs[id] ?? {} };
      recorder.onEvent({ type: "step_finished", result });
    }
    await recorder.flush();
    const actual = (await ledger.runSpend("run-1")).usd;
    // 20k in × $0.15/M + 10k out × $0.60/M = $0.009, + the deploy's $0.002; the other steps declare $0.
    expect(actual).toBeCloseTo(0.011, 10);
    const learned = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING, tools });
    expect(learned.perStep.every((s) => s.source === "history" && s.samples === 1)).toBe(true);
    expect(learned.usd.p50).toBeCloseTo(actual, 10);
    expect(learned.durationMs.p50).toBe(40 * 4);

    // The same plan on the local provider and templates: the cloud history does not apply.
    const local = await radPlan(LOCAL_ENV);
    const offline = await forecastPlan(local.prepared, { ledger, pricing: DEFAULT_PRICING, tools: local.tools });
    expect(offline.perStep.every((s) => s.source === "backend")).toBe(true);
    expect(offline.usd.p50).toBe(0);
  });

  it("on the local backend, learns from runs recorded without the tool list when they cost $0", async () => {
    ledger = await openLedger({ home: tempDir("co-fb-ledger-") });
    const { tools, prepared } = await radPlan(LOCAL_ENV);
    const recorder = createStepRecorder(ledger, "legacy", prepared);
    const at = Date.now();
    for (const id of prepared.order) {
      const resolved = prepared.tools[id]!;
      const output = id === "generate_code" ? { mode: "template", cost_usd: 0 } : {};
      recorder.onEvent({ type: "step_finished", result: { id, tool: `${resolved.server}.${resolved.tool}`, status: "succeeded", attempts: 1, startedAtMs: at, endedAtMs: at + 70, output } });
    }
    await recorder.flush();
    const forecast = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING, tools });
    // deploy_app was booked at its declared (cloud) $0.01: that run says nothing about a local deploy.
    expect(forecast.perStep.map((s) => [s.id, s.source])).toEqual(prepared.order.map((id) => [id, id === "deploy_app" ? "backend" : "history"]));
    expect(forecast.usd.p50).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { costReport } from "../../src/cost/analytics.ts";
import { openLedger } from "../../src/cost/ledger.ts";
import { measuredCost } from "../../src/cost/measured.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { createStepRecorder, stepRecordsOf } from "../../src/cost/recorder.ts";
import type { StepResult } from "../../src/engine/run-step.ts";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { BACKEND_ESTIMATE_META_KEY } from "../../src/mcp/tool-meta.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const result = (id: string, tool: string, output: unknown, ms = 100): StepResult => ({ id, tool, status: "succeeded", attempts: 1, startedAtMs: 1000, endedAtMs: 1000 + ms, output });
const info = (server: string, name: string, meta?: Record<string, unknown>): ToolInfo => ({ server, name, description: "", inputSchema: {}, ...(meta ? { meta } : {}) });

describe("costs from what the tools report", () => {
  it("prices a tool's reported model usage and books it as a model call of the step's agent, not the declared estimate", () => {
    const { step, modelCall } = stepRecordsOf(
      result("generate_code", "workspace.delegate_code_generation", { mode: "model", usage: { inputTokens: 1_000_000, outputTokens: 100_000, totalTokens: 1_100_000, model: "gpt-4o-mini" } }),
      { runId: "r", plan: "p", agent: "coding", declaredUsd: 0.6 },
    );
    expect(step).toMatchObject({ stepId: "generate_code", agent: "coding", usd: 0, usdSource: "measured" });
    expect(modelCall).toMatchObject({ runId: "r", agent: "coding", stepId: "generate_code", model: "gpt-4o-mini", inputTokens: 1_000_000, outputTokens: 100_000, known: true });
    expect(modelCall!.usd).toBeCloseTo(0.15 + 0.06, 10);
  });

  it("marks a reported model without a price unpriced", () => {
    const { modelCall } = stepRecordsOf(result("g", "workspace.delegate_code_generation", { usage: { prompt_tokens: 10, completion_tokens: 5 }, model: "my-finetune" }), { runId: "r", modelBaseUrl: "http://localhost:11434/v1" });
    expect(modelCall).toMatchObject({ model: "my-finetune", usd: 0, known: false, agent: "default" });
  });

  it("takes a reported cost_usd over the estimate, and $0 on a free backend over the estimate", () => {
    expect(stepRecordsOf(result("d", "toolkit.vercel_deploy", { cost_usd: 0.03 }), { runId: "r", declaredUsd: 0.01 }).step).toMatchObject({ usd: 0.03, usdSource: "measured" });
    const tools = [info("toolkit", "vercel_deploy", { [BACKEND_ESTIMATE_META_KEY]: { backend: "local", usd: 0, ms: 3000 } }), info("toolkit", "neon_create_project")];
    expect(stepRecordsOf(result("d", "toolkit.vercel_deploy", { url: "x" }), { runId: "r", declaredUsd: 0.01, tools }).step).toMatchObject({ usd: 0, usdSource: "free", backend: "local" });
    expect(stepRecordsOf(result("n", "toolkit.neon_create_project", {}), { runId: "r", declaredUsd: 0.01, tools }).step).toMatchObject({ usd: 0.01, usdSource: "declared", backend: "remote" });
    expect(stepRecordsOf(result("n", "toolkit.neon_create_project", {}), { runId: "r", declaredUsd: 0.01 }).step.backend).toBeUndefined();
    // A broker call is judged by its inner tool.
    const broker = stepRecordsOf(result("b", "toolkit.toolkit_call", {}), { runId: "r", declaredUsd: 0.01, tools, params: { category: "vercel", tool_name: "vercel_deploy", arguments: {} } });
    expect(broker.step).toMatchObject({ tool: "toolkit.toolkit_call#vercel_deploy", usd: 0, usdSource: "free" });
  });

  it("reads usage in the shapes tools report it", () => {
    expect(measuredCost({ usage_metadata: { input_tokens: 1e6, output_tokens: 0, input_token_details: { cache_read: 1e6 } }, model: "gpt-4o" }, DEFAULT_PRICING)?.usd).toBeCloseTo(1.25, 10);
    expect(measuredCost({ usage: { input_tokens: 10, output_tokens: 10, model: "gpt-4o", cost_usd: 0.5 } }, DEFAULT_PRICING)).toMatchObject({ usd: 0.5, known: true });
    expect(measuredCost({ usage: { input_tokens: 10 } }, DEFAULT_PRICING)).toBeUndefined();
    expect(measuredCost({ cost_usd: -1 }, DEFAULT_PRICING)).toBeUndefined();
  });

  it("lands in the ledger: by agent with step agents, by tool with the model call its tool made, and in the run's spend", async () => {
    const ledger = await openLedger({ home: tempDir("co-recorder-") });
    try {
      const plan = {
        name: "p",
        steps: [
          { id: "generate_code", agent: "coding", tool: "workspace.delegate_code_generation", dependencies: [], params: {}, estimate: { ms: 1, usd: 0.6 } },
          { id: "create_db", agent: "db", tool: "toolkit.neon_create_project", dependencies: [], params: {}, estimate: { ms: 1, usd: 0.05 } },
        ],
      };
      const recorder = createStepRecorder(ledger, "run-1", { plan } as never);
      const at = Date.now();
      const ended = (r: StepResult): StepResult => ({ ...r, startedAtMs: at, endedAtMs: at + 100 });
      recorder.onEvent({ type: "step_finished", result: ended(result("generate_code", "workspace.delegate_code_generation", { usage: { inputTokens: 1_000_000, outputTokens: 0, model: "gpt-4o-mini" } })) });
      recorder.onEvent({ type: "step_finished", result: ended(result("create_db", "toolkit.neon_create_project", {})) });
      await recorder.flush();
      expect(recorder.usd()).toBeCloseTo(0.15 + 0.05, 10);
      expect((await ledger.runSpend("run-1")).usd).toBeCloseTo(0.2, 10);
      const byAgent = await costReport(ledger, { since: at - 1000, until: at + 10_000, by: "agent", pricing: DEFAULT_PRICING });
      expect(byAgent.breakdown.map((r) => [r.key, Math.round(r.usd * 100) / 100])).toEqual([["coding", 0.15], ["db", 0.05]]);
      const byTool = await costReport(ledger, { since: at - 1000, until: at + 10_000, by: "tool", pricing: DEFAULT_PRICING });
      expect(byTool.breakdown.map((r) => [r.key, Math.round(r.usd * 100) / 100, r.inputTokens])).toEqual([
        ["workspace.delegate_code_generation", 0.15, 1_000_000],
        ["toolkit.neon_create_project", 0.05, 0],
      ]);
      // The history a forecast reads counts the model call in the step's cost.
      expect((await ledger.stepHistory("p"))["generate_code"]![0]!.usd).toBeCloseTo(0.15, 10);
    } finally {
      await ledger.close();
    }
  });
});

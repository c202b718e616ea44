import { RunnableLambda } from "@langchain/core/runnables";
import { tool } from "@langchain/core/tools";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../../src/config.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { setupTracing, toolRunUsage } from "../../src/tracing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { startLangSmithStub, type LangSmithStub } from "../helpers/langsmith-stub.ts";

let stub: LangSmithStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

describe("tool costs in LangSmith", () => {
  it("puts a step's reported cost and a tool's model usage on their runs as usage_metadata.total_cost", async () => {
    stub = await startLangSmithStub();
    const config = loadConfig({ LANGSMITH_TRACING: "true", LANGSMITH_ENDPOINT: stub.url, LANGSMITH_API_KEY: "lsv2_pt_test", CREDIT_OPTIMIZER_HOME: tempDir("co-trace-") });
    const tracing = setupTracing(config);
    const step = RunnableLambda.from(async () => ({ id: "deploy", status: "succeeded", output: { url: "https://x", cost_usd: 0.02 } })).withConfig({ runName: "step:deploy" });
    await step.invoke({}, { callbacks: tracing.callbacks });
    const codegen = tool(async () => JSON.stringify({ files: ["a.ts"], usage: { inputTokens: 1_000_000, outputTokens: 100_000, model: "gpt-4o-mini" } }), {
      name: "delegate_code_generation",
      description: "codegen",
      schema: z.object({}),
    });
    await codegen.invoke({}, { callbacks: tracing.callbacks });
    const free = RunnableLambda.from(async () => ({ id: "plain", status: "succeeded", output: { ok: true } })).withConfig({ runName: "step:plain" });
    await free.invoke({}, { callbacks: tracing.callbacks });
    expect(await tracing.flush(5000)).toBe(true);

    const byName = new Map(stub.runs().map((r) => [r.name, r]));
    expect(byName.get("step:deploy")?.extra?.metadata?.["usage_metadata"]).toEqual({ total_cost: 0.02 });
    // gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output.
    const usage = byName.get("delegate_code_generation")?.extra?.metadata?.["usage_metadata"] as Record<string, number>;
    expect(usage).toMatchObject({ input_tokens: 1_000_000, output_tokens: 100_000, total_tokens: 1_100_000 });
    expect(usage["total_cost"]).toBeCloseTo(0.21, 10);
    expect(byName.get("step:plain")?.extra?.metadata?.["usage_metadata"]).toBeUndefined();
  });

  it("leaves the cost out, keeping the tokens, when the model has no price", () => {
    expect(toolRunUsage({ output: { usage: { input_tokens: 10, output_tokens: 5, model: "mystery-9" } } }, DEFAULT_PRICING)).toEqual({ input_tokens: 10, output_tokens: 5, total_tokens: 15 });
    expect(toolRunUsage({ output: { nothing: 1 } }, DEFAULT_PRICING)).toBeUndefined();
  });
});

import { ChatOpenAI } from "@langchain/openai";
import { afterEach, describe, expect, it } from "vitest";
import { CostCallbackHandler, langsmithCost } from "../../src/cost/callbacks.ts";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub, type StubUsage } from "../helpers/openai-stub.ts";

// The stand-in listens on 127.0.0.1: price by model name, as for a paid endpoint.
const pricing = { ...DEFAULT_PRICING, localUrlsFree: false };
const usage = (prompt: number, completion: number, cached = 0): StubUsage =>
  ({ prompt_tokens: prompt, completion_tokens: completion, prompt_tokens_details: { cached_tokens: cached } }) as StubUsage;

let stub: OpenAIStub | undefined;
let ledger: Ledger | undefined;
afterEach(async () => {
  await stub?.close();
  await ledger?.close();
  stub = undefined;
  ledger = undefined;
});

/**
 * `.stream()` streams and `.invoke()` does not. (`streaming: true` with `.invoke()` would also stream,
 * but then ChatOpenAI estimates prompt tokens with tiktoken, which fetches its encoding online.)
 */
function model(name: string): ChatOpenAI {
  return new ChatOpenAI({ model: name, apiKey: "test", configuration: { baseURL: stub!.baseUrl }, maxRetries: 0 });
}

async function streamAll(chat: ChatOpenAI, input: string, options: Parameters<ChatOpenAI["stream"]>[1]): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of await chat.stream(input, options)) chunks.push(String(chunk.content));
  return chunks;
}

describe("CostCallbackHandler", () => {
  it("records usage of non-streamed and streamed calls, summed per agent and run", async () => {
    stub = await startOpenAIStub([
      { content: "plan", usage: usage(1000, 200) },
      { content: "checked", usage: usage(500, 100, 400) },
      { content: "a streamed report that is long enough to arrive in several chunks", usage: usage(300, 50) },
      { content: "plan 2", usage: usage(2000, 400) },
    ]);
    ledger = await openLedger({ home: tempDir("co-cb-") });
    const handler = new CostCallbackHandler({ pricing, ledger, runId: "run-1" });
    await model("gpt-4o-mini").invoke("plan it", { callbacks: [handler], metadata: { agent: "architect" } });
    await model("gpt-4o-mini").invoke("check it", { callbacks: [handler], tags: ["agent:credit-validator"] });
    expect((await streamAll(model("gpt-4o"), "report", { callbacks: [handler], metadata: { agent: "reporter" } })).length).toBeGreaterThan(1);
    handler.runId = "run-2";
    await streamAll(model("gpt-4o-mini"), "plan again", { callbacks: [handler], metadata: { agent: "architect" } });
    await handler.flush();

    expect(stub.requests.map((r) => r.body["stream"] === true)).toEqual([false, false, true, true]);
    const run1 = handler.totals("run-1");
    expect(run1).toMatchObject({ calls: 3, inputTokens: 1800, outputTokens: 350, cachedTokens: 400, unknownModels: [] });
    const mini = (i: number, o: number, c = 0): number => ((i - c) * 0.15 + c * 0.075 + o * 0.6) / 1e6;
    expect(run1.byAgent["architect"]!.usd).toBeCloseTo(mini(1000, 200), 12);
    expect(run1.byAgent["credit-validator"]).toMatchObject({ calls: 1, inputTokens: 500, cachedTokens: 400 });
    expect(run1.byAgent["credit-validator"]!.usd).toBeCloseTo(mini(500, 100, 400), 12);
    expect(run1.byAgent["reporter"]!.usd).toBeCloseTo((300 * 2.5 + 50 * 10) / 1e6, 12);
    expect(handler.totals("run-2")).toMatchObject({ calls: 1, inputTokens: 2000, outputTokens: 400 });
    expect(handler.totals().calls).toBe(4);

    const spend1 = await ledger.runSpend("run-1");
    expect(spend1).toMatchObject({ modelCalls: 3, inputTokens: 1800, outputTokens: 350, cachedTokens: 400 });
    expect(spend1.usd).toBeCloseTo(run1.usd, 12);
    const rows = await ledger.modelCalls({ runId: "run-1" });
    expect(rows.map((r) => [r.agent, r.model])).toEqual([["architect", "gpt-4o-mini"], ["credit-validator", "gpt-4o-mini"], ["reporter", "gpt-4o"]]);
  });

  it("reports a model with no price as unknown", async () => {
    stub = await startOpenAIStub([{ content: "hi", usage: usage(100, 20) }]);
    ledger = await openLedger({ home: tempDir("co-cb-") });
    const handler = new CostCallbackHandler({ pricing, ledger, runId: "run-u", agent: "reporter" });
    await model("mystery-model-9").invoke("hello", { callbacks: [handler] });
    await handler.flush();
    expect(handler.totals()).toMatchObject({ calls: 1, inputTokens: 100, usd: 0, unknownModels: ["mystery-model-9"] });
    expect(handler.calls()[0]).toMatchObject({ agent: "reporter", known: false });
    expect((await ledger.runSpend("run-u")).unknownModels).toEqual(["mystery-model-9"]);
    expect(langsmithCost(handler.calls()[0]!)).toEqual({ input_tokens: 100, output_tokens: 20, total_tokens: 120 });
  });

  it("marks an unknown model served from a localhost URL unpriced by default", async () => {
    stub = await startOpenAIStub([{ content: "hi", usage: usage(100_000, 20_000) }]);
    const handler = new CostCallbackHandler({ pricing: DEFAULT_PRICING, runId: "run-l", agent: "reporter" });
    await model("my-local-finetune").invoke("hello", { callbacks: [handler] });
    expect(handler.calls()[0]).toMatchObject({ usd: 0, known: false, inputTokens: 100_000 });
  });

  it("gives LangSmith cost fields and tells listeners about each call", async () => {
    stub = await startOpenAIStub([{ content: "hi", usage: usage(1_000_000, 1_000_000) }]);
    const seen: number[] = [];
    const handler = new CostCallbackHandler({ pricing, runId: "run-c", agent: "architect", onCall: (c) => seen.push(c.usd) });
    await model("gpt-4o").withConfig({ metadata: { routed_from: "gpt-5" } }).invoke("x", { callbacks: [handler] });
    expect(seen).toEqual([12.5]);
    expect(handler.calls()[0]!.routedFrom).toBe("gpt-5");
    expect(langsmithCost(handler.calls()[0]!)).toEqual({ input_tokens: 1e6, output_tokens: 1e6, total_tokens: 2e6, input_cost: 2.5, output_cost: 10, total_cost: 12.5 });
  });
});

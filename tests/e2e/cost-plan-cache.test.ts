import { ChatOpenAI } from "@langchain/openai";
import { afterEach, describe, expect, it } from "vitest";
import { CostCallbackHandler } from "../../src/cost/callbacks.ts";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { planCacheKey, withPlanCache } from "../../src/cost/plan-cache.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { startOpenAIStub, type OpenAIStub } from "../helpers/openai-stub.ts";

const pricing = { ...DEFAULT_PRICING, localUrlsFree: false };
const tools = [{ server: "toolkit", name: "neon_create_project", inputSchema: { type: "object" } }];
const planText = JSON.stringify({ name: "rad-crawler", steps: [{ id: "db", tool: "toolkit.neon_create_project" }] });

let stub: OpenAIStub | undefined;
const ledgers: Ledger[] = [];
afterEach(async () => {
  await stub?.close();
  for (const l of ledgers.splice(0)) await l.close();
});

describe("plan cache", () => {
  it("reuses the stored plan for the same normalised request with zero model tokens, across processes, unless fresh", async () => {
    stub = await startOpenAIStub(() => ({ content: planText, usage: { prompt_tokens: 1500, completion_tokens: 300 } }));
    const home = tempDir("co-cache-");
    const architect = async (runId: string, request: string, fresh = false, ledgerHome = home) => {
      const ledger = await openLedger({ home: ledgerHome });
      ledgers.push(ledger);
      const handler = new CostCallbackHandler({ pricing, ledger, runId, agent: "architect" });
      const model = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "test", configuration: { baseURL: stub!.baseUrl }, maxRetries: 0 });
      const outcome = await withPlanCache({ cache: ledger.planCache, key: planCacheKey(request, tools, ["rad-crawler"]), fresh }, async () => {
        const reply = await model.invoke(request, { callbacks: [handler] });
        return { plan: JSON.parse(String(reply.content)) as unknown, planner: "gpt-4o-mini" };
      });
      await handler.flush();
      return { outcome, spend: await ledger.runSpend(runId) };
    };

    const first = await architect("run-1", "Set up RAD Crawler with Neon DB");
    expect(first.outcome).toEqual({ plan: JSON.parse(planText), planner: "gpt-4o-mini", cached: false });
    expect(first.spend).toMatchObject({ modelCalls: 1, inputTokens: 1500, outputTokens: 300 });
    expect(stub.requests).toHaveLength(1);

    const second = await architect("run-2", "  set up RAD crawler   with neon db. ");
    expect(second.outcome).toEqual({ plan: JSON.parse(planText), planner: "gpt-4o-mini", cached: true });
    expect(second.spend).toMatchObject({ modelCalls: 0, inputTokens: 0, outputTokens: 0, usd: 0 });
    expect(stub.requests).toHaveLength(1);

    const fresh = await architect("run-3", "Set up RAD Crawler with Neon DB", true);
    expect(fresh.outcome.cached).toBe(false);
    expect(stub.requests).toHaveLength(2);

    const elsewhere = await architect("run-4", "Set up RAD Crawler with Neon DB", false, tempDir("co-cache-"));
    expect(elsewhere.outcome.cached).toBe(false);
    expect(stub.requests).toHaveLength(3);
  });

  it("does not store a plan that failed to be made", async () => {
    const ledger = await openLedger({ home: tempDir("co-cache-") });
    ledgers.push(ledger);
    const use = { cache: ledger.planCache, key: "k" };
    await expect(withPlanCache(use, () => Promise.reject(new Error("model down")))).rejects.toThrow("model down");
    expect(await ledger.planCache.get("k")).toBeUndefined();
  });
});

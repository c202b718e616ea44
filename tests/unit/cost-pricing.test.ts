import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isCostError } from "../../src/cost/errors.ts";
import { DEFAULT_PRICING, loadPricing, normaliseModelName, priceUsage } from "../../src/cost/pricing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

describe("pricing", () => {
  it("prices input and output per 1M tokens", () => {
    const price = priceUsage(DEFAULT_PRICING, "gpt-4o-mini", { input_tokens: 1_000_000, output_tokens: 500_000 });
    expect(price.known).toBe(true);
    expect(price.input_cost).toBeCloseTo(0.15, 10);
    expect(price.output_cost).toBeCloseTo(0.3, 10);
    expect(price.usd).toBeCloseTo(0.45, 10);
  });

  it("charges cached input tokens at the cached price (they are part of input_tokens)", () => {
    const price = priceUsage(DEFAULT_PRICING, "gpt-4.1", { input_tokens: 1_000_000, output_tokens: 0, cached: 400_000 });
    expect(price.usd).toBeCloseTo(0.6 * 2 + 0.4 * 0.5, 10);
  });

  it("finds dated and provider-prefixed model names", () => {
    expect(normaliseModelName("OpenAI/GPT-4o-mini-2024-07-18")).toBe("gpt-4o-mini");
    expect(priceUsage(DEFAULT_PRICING, "gpt-4o-2024-08-06", { input_tokens: 1e6, output_tokens: 0 }).usd).toBeCloseTo(2.5, 10);
  });

  it("prices local models at zero by name, also behind a localhost base URL", () => {
    expect(priceUsage(DEFAULT_PRICING, "llama3.1:8b", { input_tokens: 5000, output_tokens: 5000 })).toMatchObject({ usd: 0, known: true });
    expect(priceUsage(DEFAULT_PRICING, "qwen2.5-coder:7b", { input_tokens: 5000, output_tokens: 5000 }, "http://localhost:11434/v1")).toMatchObject({ usd: 0, known: true });
  });

  it("marks an unknown model behind a localhost URL unpriced, not $0", () => {
    expect(priceUsage(DEFAULT_PRICING, "my-finetune", { input_tokens: 5000, output_tokens: 5000 }, "http://localhost:11434/v1")).toEqual({ usd: 0, known: false, input_cost: 0, output_cost: 0 });
  });

  it("prices by name behind a local proxy by default", () => {
    expect(priceUsage(DEFAULT_PRICING, "gpt-4o", { input_tokens: 1e6, output_tokens: 0 }, "http://127.0.0.1:4000/v1")).toMatchObject({ usd: 2.5, known: true });
  });

  it("counts everything behind localhost as free when localUrlsFree is on", () => {
    const pricing = { ...DEFAULT_PRICING, localUrlsFree: true };
    expect(priceUsage(pricing, "gpt-4o", { input_tokens: 1e6, output_tokens: 0 }, "http://127.0.0.1:4000/v1")).toMatchObject({ usd: 0, known: true });
    expect(priceUsage(pricing, "my-finetune", { input_tokens: 5000, output_tokens: 5000 }, "http://localhost:11434/v1")).toMatchObject({ usd: 0, known: true });
  });

  it("reports an unknown model as unknown instead of pricing it silently", () => {
    const price = priceUsage(DEFAULT_PRICING, "claude-mystery-9", { input_tokens: 1000, output_tokens: 1000 });
    expect(price).toEqual({ usd: 0, known: false, input_cost: 0, output_cost: 0 });
  });

  it("merges the pricing section of a config file over the defaults", () => {
    const file = path.join(tempDir(), "config.json");
    writeFileSync(file, JSON.stringify({ pricing: { models: { "gpt-4o": { input: 1, output: 2 }, "House-Model": { input: 3, output: 4, cached: 1 } }, local: ["corp-*"] } }));
    const pricing = loadPricing(file);
    expect(priceUsage(pricing, "gpt-4o", { input_tokens: 1e6, output_tokens: 1e6 }).usd).toBeCloseTo(3, 10);
    expect(priceUsage(pricing, "house-model", { input_tokens: 1e6, output_tokens: 0, cached: 1e6 }).usd).toBeCloseTo(1, 10);
    expect(priceUsage(pricing, "corp-7b", { input_tokens: 1e6, output_tokens: 0 })).toMatchObject({ usd: 0, known: true });
    expect(priceUsage(pricing, "gpt-4o-mini", { input_tokens: 1e6, output_tokens: 0 }).usd).toBeCloseTo(0.15, 10);
  });

  it("names the file and field of a bad pricing entry", () => {
    const file = path.join(tempDir(), "config.json");
    writeFileSync(file, JSON.stringify({ pricing: { models: { "gpt-4o": { input: -1, output: 2 } } } }));
    let caught: unknown;
    try {
      loadPricing(file);
    } catch (error) {
      caught = error;
    }
    expect(isCostError(caught) && caught.code).toBe("COST_CONFIG");
    expect((caught as Error).message).toContain(file);
    expect((caught as Error).message).toContain("pricing.models.gpt-4o.input");
  });

  it("uses the defaults when the file has no pricing section", () => {
    const file = path.join(tempDir(), "config.json");
    writeFileSync(file, JSON.stringify({ routing: {} }));
    expect(loadPricing(file)).toBe(DEFAULT_PRICING);
  });
});

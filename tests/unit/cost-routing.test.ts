import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isCostError } from "../../src/cost/errors.ts";
import type { ModelCallRecord } from "../../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { loadRouting, routeModel, routingSavings } from "../../src/cost/routing.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const table = {
  "architect/repair": { model: "gpt-4o-mini", note: "repairs are small" },
  reporter: { model: "qwen2.5:7b", baseUrl: "http://localhost:11434/v1" },
  "*/summarize": { model: "gpt-4.1-nano" },
};
const fallback = { model: "gpt-4o" };

describe("model routing", () => {
  it("picks the most specific rule, else the default", () => {
    expect(routeModel(table, "architect", "repair", fallback)).toMatchObject({ model: "gpt-4o-mini", routed: true, reason: 'routing rule "architect/repair": repairs are small' });
    expect(routeModel(table, "architect", "plan", fallback)).toEqual({ model: "gpt-4o", routed: false, reason: "no routing rule: the default model" });
    expect(routeModel(table, "reporter", "report", fallback)).toMatchObject({ model: "qwen2.5:7b", baseUrl: "http://localhost:11434/v1", routed: true, routedFrom: "gpt-4o" });
    expect(routeModel(table, "credit-validator", "summarize", fallback)).toMatchObject({ model: "gpt-4.1-nano", routed: true });
    const viaProxy = { model: "gpt-4o", baseUrl: "http://127.0.0.1:4000/v1" };
    expect(routeModel(table, "architect", "repair", viaProxy)).toMatchObject({ model: "gpt-4o-mini", baseUrl: viaProxy.baseUrl, routed: true });
    expect(routeModel({ "*": { model: "gpt-4o" } }, "reporter", undefined, viaProxy)).toMatchObject({ model: "gpt-4o", routed: false });
  });

  it("loads the routing section and rejects bad keys and URLs by name", () => {
    const file = path.join(tempDir(), "config.json");
    writeFileSync(file, JSON.stringify({ routing: table }));
    expect(loadRouting(file)).toEqual(table);
    writeFileSync(file, JSON.stringify({ routing: { "a/b/c": { model: "x" }, reporter: { model: "y", baseUrl: "not a url" } } }));
    let caught: unknown;
    try {
      loadRouting(file);
    } catch (error) {
      caught = error;
    }
    expect(isCostError(caught)).toBe(true);
    expect((caught as Error).message).toContain("routing.a/b/c");
    expect((caught as Error).message).toContain("routing.reporter.baseUrl");
  });

  it("computes what routing saved against the default model", () => {
    const base = { runId: "r1", agent: "reporter", cachedTokens: 0, at: 1 };
    const calls: ModelCallRecord[] = [
      { ...base, model: "qwen2.5:7b", inputTokens: 1_000_000, outputTokens: 100_000, usd: 0, known: true, routedFrom: "gpt-4o" },
      { ...base, agent: "architect", model: "gpt-4o", inputTokens: 1_000_000, outputTokens: 0, usd: 2.5, known: true },
    ];
    const savings = routingSavings(calls, DEFAULT_PRICING);
    expect(savings.routedCalls).toBe(1);
    expect(savings.actualUsd).toBe(0);
    expect(savings.defaultUsd).toBeCloseTo(2.5 + 1, 10); // the routed call's tokens on gpt-4o: $2.50 in + $1.00 out
    expect(savings.savedUsd).toBeCloseTo(3.5, 10);
    expect(savings.unknownModels).toEqual([]);
  });
});

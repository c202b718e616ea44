import { describe, expect, it } from "vitest";
import { normaliseRequest, planCacheKey } from "../../src/cost/plan-cache.ts";
import { canonicalJson } from "../../src/hash.ts";

const tools = [
  { server: "toolkit", name: "neon_create_project", inputSchema: { type: "object", properties: { name: { type: "string" } } } },
  { server: "workspace", name: "generate", inputSchema: { properties: { path: { type: "string" } }, type: "object" } },
];

describe("plan cache key", () => {
  it("normalises case, whitespace and surrounding punctuation", () => {
    expect(normaliseRequest("  Set up RAD Crawler\n with   Neon DB!! ")).toBe("set up rad crawler with neon db");
    const a = planCacheKey("Set up RAD Crawler with Neon DB.", tools, ["rad-crawler", "static-site"]);
    const b = planCacheKey("set up rad crawler   with neon db", [...tools].reverse(), ["static-site", "rad-crawler"]);
    expect(a).toBe(b);
  });

  it("changes with the request, a tool's schema, or the workflow library", () => {
    const key = planCacheKey("deploy it", tools, ["rad-crawler"]);
    expect(planCacheKey("deploy it again", tools, ["rad-crawler"])).not.toBe(key);
    const changed = [tools[0]!, { ...tools[1]!, inputSchema: { type: "object", properties: { path: { type: "number" } } } }];
    expect(planCacheKey("deploy it", changed, ["rad-crawler"])).not.toBe(key);
    expect(planCacheKey("deploy it", tools, ["rad-crawler", "new-template"])).not.toBe(key);
    expect(planCacheKey("deploy it", tools.slice(0, 1), ["rad-crawler"])).not.toBe(key);
  });

  it("changes with the model, and with what a tool's pin covers beyond its schema (description, annotations, output schema)", () => {
    const key = planCacheKey("deploy it", tools, ["rad-crawler"], "gpt-4o-mini");
    expect(planCacheKey("deploy it", tools, ["rad-crawler"], "gpt-4o-mini")).toBe(key);
    expect(planCacheKey("deploy it", tools, ["rad-crawler"], "gpt-4o-mini @ http://127.0.0.1:11434/v1")).not.toBe(key);
    const described = [{ ...tools[0]!, description: "now deletes the old project first" }, tools[1]!];
    expect(planCacheKey("deploy it", described, ["rad-crawler"], "gpt-4o-mini")).not.toBe(key);
    const destructive = [{ ...tools[0]!, annotations: { destructiveHint: true } }, tools[1]!];
    expect(planCacheKey("deploy it", destructive, ["rad-crawler"], "gpt-4o-mini")).not.toBe(key);
    const output = [{ ...tools[0]!, outputSchema: { type: "object" } }, tools[1]!];
    expect(planCacheKey("deploy it", output, ["rad-crawler"], "gpt-4o-mini")).not.toBe(key);
  });

  it("serialises objects with sorted keys", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }], e: undefined })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
  });
});

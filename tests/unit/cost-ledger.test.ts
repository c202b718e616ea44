import { randomUUID } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spendSoFar } from "../../src/cost/budget.ts";
import { openLedger, type Ledger, type StepRecord } from "../../src/cost/ledger.ts";
import { maskSecrets } from "../../src/secrets.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12);

interface Backend {
  name: string;
  open(): Promise<Ledger>;
}

const databases: string[] = [];
const backends: Backend[] = [
  { name: "sqlite", open: () => openLedger({ home: tempDir("co-ledger-") }) },
  {
    name: "postgres",
    open: async () => {
      const db = `co_ledger_${randomUUID().replace(/-/g, "")}`;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      databases.push(db);
      return openLedger({ home: tempDir("co-ledger-"), url: `postgres://postgres@127.0.0.1:5432/${db}` });
    },
  },
];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
});

function step(fields: Partial<StepRecord> & Pick<StepRecord, "stepId" | "tool" | "durationMs" | "at">): StepRecord {
  return { runId: "run-1", plan: "p", server: fields.tool.split(".")[0]!, status: "succeeded", attempts: 1, usd: 0, usdSource: "none", ...fields };
}

describe.each(backends)("ledger on $name", (backend) => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await backend.open();
  });
  afterAll(async () => {
    await ledger.close();
  });

  it("records model calls and steps and sums a run's spend", async () => {
    await ledger.recordModelCall({ runId: "run-1", agent: "architect", model: "gpt-4o-mini", inputTokens: 1000, outputTokens: 200, cachedTokens: 100, usd: 0.01, known: true, at: NOW });
    await ledger.recordModelCall({ runId: "run-1", agent: "reporter", model: "mystery", inputTokens: 10, outputTokens: 5, cachedTokens: 0, usd: 0, known: false, at: NOW + 1, routedFrom: "gpt-4o" });
    await ledger.recordStep(step({ stepId: "a", tool: "toolkit.create", durationMs: 120.5, at: NOW + 2, usd: 0.02, usdSource: "declared" }));
    const spend = await ledger.runSpend("run-1");
    expect(spend).toEqual({ usd: 0.03, modelUsd: 0.01, stepUsd: 0.02, inputTokens: 1010, outputTokens: 205, cachedTokens: 100, modelCalls: 2, unknownModels: ["mystery"] });
    const calls = await ledger.modelCalls({ runId: "run-1" });
    expect(calls.map((c) => [c.agent, c.known, c.routedFrom])).toEqual([["architect", true, undefined], ["reporter", false, "gpt-4o"]]);
    expect((await ledger.steps({ runId: "run-1" }))[0]).toEqual(step({ stepId: "a", tool: "toolkit.create", durationMs: 120.5, at: NOW + 2, usd: 0.02, usdSource: "declared" }));
  });

  it("answers history per tool and per step of a plan, newest first, successes only", async () => {
    for (const [i, ms] of [100, 200, 300].entries()) await ledger.recordStep(step({ runId: `h${i}`, plan: "hist", stepId: "x", tool: "srv.slow", durationMs: ms, at: NOW + 10 + i }));
    await ledger.recordStep(step({ runId: "h9", plan: "hist", stepId: "x", tool: "srv.slow", durationMs: 9999, at: NOW + 20, status: "failed" }));
    await ledger.recordStep(step({ runId: "h9", plan: "other", stepId: "y", tool: "srv.slow", durationMs: 50, at: NOW + 21 }));
    const tools = await ledger.toolHistory(["srv.slow", "srv.never"], 3);
    expect(tools["srv.slow"]!.map((s) => s.durationMs)).toEqual([50, 300, 200]);
    expect(tools["srv.never"]).toEqual([]);
    const steps = await ledger.stepHistory("hist");
    expect(Object.keys(steps)).toEqual(["x"]);
    expect(steps["x"]!.map((s) => s.durationMs)).toEqual([300, 200, 100]);
    expect((await ledger.stepHistory("hist", 2))["x"]!.map((s) => s.durationMs)).toEqual([300, 200]);
  });

  it("sums tokens per run, agent and model for history", async () => {
    await ledger.recordModelCall({ runId: "m1", agent: "reporter", model: "gpt-4o", inputTokens: 100, outputTokens: 10, cachedTokens: 0, usd: 0.001, known: true, at: NOW + 30 });
    await ledger.recordModelCall({ runId: "m1", agent: "reporter", model: "gpt-4o", inputTokens: 300, outputTokens: 30, cachedTokens: 50, usd: 0.003, known: true, at: NOW + 31 });
    const history = await ledger.modelHistory(["reporter"]);
    const m1 = history.find((h) => h.runId === "m1");
    expect(m1).toMatchObject({ agent: "reporter", model: "gpt-4o", calls: 2, inputTokens: 400, outputTokens: 40, cachedTokens: 50 });
    expect(m1!.usd).toBeCloseTo(0.004, 10);
  });

  it("upserts runs, keeping stored fields not given again, with secrets masked", async () => {
    const forecast = { durationMs: { p50: 1000, p90: 2000 }, usd: { p50: 0.1, p90: 0.2 } };
    await ledger.recordRun({ runId: "run-x", request: "deploy with postgres://admin:hunter2@db.example.com/app and key sk-abcdefghijklmnop1234", plan: "p", status: "running", forecast, startedAt: NOW });
    await ledger.recordRun({ runId: "run-x", plan: "p", status: "succeeded", actual: { durationMs: 1500, usd: 0.15 }, startedAt: NOW, endedAt: NOW + 1500 });
    const [run] = await ledger.runs({ runId: "run-x" });
    expect(run).toMatchObject({ status: "succeeded", forecast, actual: { durationMs: 1500, usd: 0.15 }, endedAt: NOW + 1500 });
    expect(run!.request).not.toContain("hunter2");
    expect(run!.request).not.toContain("abcdefghijklmnop");
    expect(run!.request).toContain("postgres://admin:[redacted]@db.example.com");
  });

  it("sums spend by UTC day and month", async () => {
    const fresh = await backend.open();
    try {
      const call = { runId: "s", agent: "a", model: "gpt-4o", inputTokens: 1, outputTokens: 1, cachedTokens: 0, known: true };
      await fresh.recordModelCall({ ...call, usd: 1, at: NOW });
      await fresh.recordModelCall({ ...call, usd: 2, at: NOW - DAY });
      await fresh.recordModelCall({ ...call, usd: 4, at: Date.UTC(2026, 9, 31) });
      await fresh.recordStep(step({ runId: "s", stepId: "z", tool: "t.z", durationMs: 1, at: NOW, usd: 0.5 }));
      expect(await spendSoFar(fresh, NOW)).toEqual({ today: 1.5, month: 3.5 });
      expect(await fresh.spentBetween(0)).toBe(7.5);
    } finally {
      await fresh.close();
    }
  });

  it("stores plans in the plan cache and counts hits", async () => {
    expect(await ledger.planCache.get("k1")).toBeUndefined();
    await ledger.planCache.put("k1", { name: "p", steps: [{ id: "a" }] }, "gpt-4o-mini");
    expect(await ledger.planCache.get("k1")).toMatchObject({ plan: { name: "p", steps: [{ id: "a" }] }, planner: "gpt-4o-mini", hits: 1 });
    expect((await ledger.planCache.get("k1"))!.hits).toBe(2);
    await ledger.planCache.put("k1", { name: "q", steps: [] }, "catalog:rad-crawler");
    expect(await ledger.planCache.get("k1")).toMatchObject({ plan: { name: "q" }, planner: "catalog:rad-crawler", hits: 1 });
  });
});

describe("ledger location", () => {
  it("is <home>/ledger.sqlite by default and masks Postgres passwords in its description", async () => {
    const home = tempDir("co-ledger-");
    const ledger = await openLedger({ home });
    expect(ledger.description).toBe(`sqlite:${path.join(home, "ledger.sqlite")}`);
    await ledger.close();
    const error = await openLedger({ home, url: "postgres://someone:s3cret-pw@127.0.0.1:1/none" }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toContain("postgres://someone:[redacted]@127.0.0.1:1/none");
    expect(error?.message).not.toContain("s3cret-pw");
  });

  it("masks API keys in free text", () => {
    expect(maskSecrets("use sk-proj-abcdefghijklmnopqrstuvwxyz and ghp_ABCDEFGHIJKLMNOP1234")).toBe("use sk-[redacted] and ghp-[redacted]");
  });
});

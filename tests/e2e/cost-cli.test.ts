import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

async function record(ledger: Ledger): Promise<void> {
  const at = Date.now() - 60_000;
  await ledger.recordModelCall({ runId: "r1", agent: "architect", model: "gpt-4o-mini", inputTokens: 4000, outputTokens: 800, cachedTokens: 0, usd: 0.00108, known: true, at });
  await ledger.recordStep({ runId: "r1", plan: "p", stepId: "db", tool: "toolkit.neon_create_project", server: "toolkit", status: "succeeded", durationMs: 1200, attempts: 1, usd: 0, usdSource: "none", at });
}

describe("credit-optimizer costs (the CLI)", () => {
  it("reads the SQLite ledger under the state directory", async () => {
    const home = tempDir("co-costs-cli-");
    const ledger = await openLedger({ home });
    await record(ledger);
    await ledger.close();
    const result = await runCli(["costs", "--since", "1d", "--by", "tool", "--json"], { CREDIT_OPTIMIZER_HOME: home });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { totals: { modelCalls: number; steps: number; inputTokens: number }; breakdown: { key: string; durationMs: number }[] };
    expect(report.totals).toMatchObject({ modelCalls: 1, steps: 1, inputTokens: 4000 });
    expect(report.breakdown).toEqual([expect.objectContaining({ key: "toolkit.neon_create_project", durationMs: 1200 })]);
  });

  it("reads the Postgres ledger when the checkpointer is on Postgres (DATABASE_URL)", async () => {
    const db = `co_costs_${randomUUID().replace(/-/g, "")}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    try {
      const url = `postgres://postgres@127.0.0.1:5432/${db}`;
      const ledger = await openLedger({ home: tempDir("co-costs-cli-"), url });
      await record(ledger);
      await ledger.close();
      const result = await runCli(["costs", "--by", "agent"], { CREDIT_OPTIMIZER_HOME: tempDir("co-costs-cli-"), DATABASE_URL: url });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`(7d, postgres://postgres@127.0.0.1:5432/${db})`);
      expect(result.stdout).toMatch(/ {2}architect +1 +4,000 +800 +\$0\.0011/);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  });

  it("fails naming the config file when its pricing section is wrong", async () => {
    const home = tempDir("co-costs-cli-");
    const file = path.join(home, "config.json");
    writeFileSync(file, JSON.stringify({ pricing: { models: { "gpt-4o": { input: "cheap", output: 1 } } } }));
    const result = await runCli(["costs"], { CREDIT_OPTIMIZER_HOME: home });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ${file}:`);
    expect(result.stderr).toContain("pricing.models.gpt-4o.input");
  });
});

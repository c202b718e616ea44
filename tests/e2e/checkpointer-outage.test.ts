import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, waitFor } from "../helpers/cli.ts";
import { fakeServer, readCalls, release, tempDir } from "../helpers/fake-mcp.ts";

const ADMIN = "postgres://postgres@127.0.0.1:5432/postgres";

describe("the checkpointer's database goes away mid-run", () => {
  const db = `co_outage_${process.pid}_${Date.now()}`;
  const away = `${db}_away`;
  const admin = new pg.Client({ connectionString: ADMIN });
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.query(`DROP DATABASE IF EXISTS ${away} WITH (FORCE)`);
    await admin.end();
  });

  it("the run stops with a clear error, and resumes once the database is back", async () => {
    const dir = tempDir();
    const calls = path.join(dir, "calls.jsonl");
    // slow, once called, waits for `held`: the outage begins while it runs, however slow the machine.
    const held = path.join(dir, "slow.release");
    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { hold: { slow: held } }) } }));
    const work = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: id } });
    writeFileSync(path.join(dir, "plan.json"), JSON.stringify({ name: "outage", steps: [work("a"), work("slow", ["a"]), work("b", ["slow"])] }));
    const url = `postgres://postgres@127.0.0.1:5432/${db}`;
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, "home") };
    const common = ["--mcp-config", path.join(dir, "mcp.json"), "--checkpointer", url, "--json"];

    const run = startCli(["run", "--plan", path.join(dir, "plan.json"), "--thread", "outage-1", ...common], env);
    await waitFor(() => readCalls(calls).some((c) => c.name === "slow"), 60_000, "the slow step to start");
    // `a`'s result is in the step journal (in the checkpointer's database) before `slow` starts.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const journaled = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM credit_optimizer_step_journal WHERE scope = $1 AND key = 'step:a'", ["outage-1"]);
      expect(journaled.rows[0]!.n).toBe(1);
    } finally {
      await client.end();
    }
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [db]);
    await admin.query(`ALTER DATABASE ${db} RENAME TO ${away}`);
    release(held);
    const stopped = await run.done;
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('the run on thread "outage-1" stopped');
    expect(stopped.stderr).toContain("credit-optimizer resume outage-1");

    await admin.query(`ALTER DATABASE ${away} RENAME TO ${db}`);
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
    const resumed = await runCli(["resume", "outage-1", "--checkpointer", url, "--json"], env);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as { status: string }).status).toBe("succeeded");
    // `a` finished (and was saved) before the outage; steps that ended during it could not be saved and run again.
    expect(readCalls(calls).filter((c) => c.name === "a")).toHaveLength(1);
  });
});

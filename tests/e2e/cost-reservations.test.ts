import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { isBudgetReservationError } from "../../src/cost/reservations.ts";
import { waitFor } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = path.join(ROOT, "tests/fixtures/cost/reservation-child.ts");
const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const databases: string[] = [];

interface Target {
  name: string;
  /** What the child gets as its first argument, and how this process opens the same ledger. */
  make(): Promise<{ arg: string; open: () => Promise<Ledger> }>;
}

const targets: Target[] = [
  {
    name: "sqlite",
    make: async () => {
      const home = tempDir("co-reserve-");
      return { arg: home, open: () => openLedger({ home }) };
    },
  },
  {
    name: "postgres",
    make: async () => {
      const db = `co_reserve_${randomUUID().replace(/-/g, "")}`;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      databases.push(db);
      const url = `postgres://postgres@127.0.0.1:5432/${db}`;
      return { arg: url, open: () => openLedger({ home: tempDir("co-reserve-"), url }) };
    },
  },
];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
});

interface Child {
  process: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
  stderr: () => string;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    buffer += d.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      buffer = buffer.slice(nl + 1);
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return { process: child, lines, exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))), stderr: () => stderr };
}

const N = 6;
const CAP = 1;
const RESERVE = 0.3;
const SPEND = 0.25;

describe.each(targets)("budget reservations across processes on $name", (target) => {
  it(`${N} concurrent runs against one cap never commit more than it`, async () => {
    const { arg, open } = await target.make();
    // The schema exists before the race, as it does once any command has run.
    await (await open()).close();
    const release = path.join(tempDir("co-release-"), "go");
    const children = Array.from({ length: N }, (_, i) => startChild([arg, `run-${i}`, String(RESERVE), String(SPEND), String(CAP), release]));
    const ledger = await open();
    try {
      await waitFor(() => children.every((c) => c.lines.length > 0 || c.process.exitCode !== null), 120_000, "every child to reserve or be refused");
      const results = children.map((c) => c.lines[0] ?? { error: c.stderr() });
      const granted = results.filter((r) => "reserved" in r);
      const refused = results.filter((r) => "refused" in r);
      // Every child holds (or was refused) while all the others tried: only ⌊1 / 0.3⌋ = 3 fit.
      expect(granted).toHaveLength(Math.floor(CAP / RESERVE));
      expect(refused).toHaveLength(N - granted.length);
      expect(String(refused[0]!["refused"])).toMatch(/^daily cap \$1\.00: \$0\.0000 spent today \+ \$0\.9000 reserved by 3 other running run\(s\) \+ \$0\.3000 for this run .* = \$1\.20, over the cap$/);
      const held = await ledger.committedSpend();
      expect(held.reservedUsd).toBeCloseTo(granted.length * RESERVE, 9);
      expect(held.today).toBeLessThanOrEqual(CAP);

      writeFileSync(release, "");
      expect(await Promise.all(children.map((c) => c.exited))).toEqual(children.map(() => 0));
      const settled = children.flatMap((c) => c.lines.filter((l) => "settled" in l));
      expect(settled.map((s) => s["settled"] as number).every((usd) => Math.abs(usd - SPEND) < 1e-9)).toBe(true);
      const spent = (await ledger.committedSpend()).spentToday;
      const reservations = await ledger.reservations();
      expect(reservations.filter((r) => r.state === "settled")).toHaveLength(granted.length);
      expect(reservations.filter((r) => r.state === "live")).toHaveLength(0);
      expect(spent).toBeCloseTo(granted.length * SPEND, 9);
      expect(spent).toBeLessThanOrEqual(CAP);
      console.info(`${target.name}: N=${N} processes, cap $${CAP}, reservation $${RESERVE} each: ${granted.length} granted, peak reserved $${held.reservedUsd.toFixed(2)}, spent $${spent.toFixed(2)}`);
    } finally {
      for (const c of children) if (c.process.exitCode === null) c.process.kill("SIGKILL");
      await ledger.close();
    }
  }, 180_000);

  it("a killed run's reservation expires with its process", async () => {
    const { arg, open } = await target.make();
    await (await open()).close();
    const child = startChild([arg, "doomed", "0.8", "0", String(CAP), "-"]);
    const ledger = await open();
    try {
      await waitFor(() => child.lines.length > 0 || child.process.exitCode !== null, 60_000, "the child to reserve");
      expect(child.lines[0]).toMatchObject({ reserved: 0.8 });
      const refused = await ledger.reserve({ runId: "next", usd: 0.5, caps: { dailyUsd: CAP, monthlyUsd: 10 } }).catch((e: unknown) => e);
      expect(isBudgetReservationError(refused) && refused.limit).toBe("daily");
      expect((await ledger.committedSpend("next")).reservedUsd).toBeCloseTo(0.8, 9);

      child.process.kill("SIGKILL");
      await child.exited;
      // Its process is gone from this machine: its hold goes at once (on Postgres, as on SQLite), without waiting for its lease.
      await waitFor(async () => (await ledger.committedSpend("next")).reservations === 0, 10_000, "the dead run's hold to go");
      const next = await ledger.reserve({ runId: "next", usd: 0.5, caps: { dailyUsd: CAP, monthlyUsd: 10 } });
      expect(next.others.reservedUsd).toBe(0);
      const states = Object.fromEntries((await ledger.reservations()).map((r) => [r.runId, r.state]));
      expect(states).toEqual({ doomed: "expired", next: "live" });
      expect(await next.settle()).toBe(0);
    } finally {
      if (child.process.exitCode === null) child.process.kill("SIGKILL");
      await ledger.close();
    }
  });
});

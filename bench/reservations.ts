/**
 * Budget reservations: (1) N processes race for one daily cap — how many got a reservation, the most
 * that was ever held, and what was spent in the end; (2) what the running-budget check costs:
 * `committedSpend` latency with a month of history (10,000 steps, 2,000 model calls) and 20 live
 * reservations. SQLite and Postgres (local server). `npm run bench -- --only reservations`.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { openLedger, type Ledger } from "../src/cost/ledger.ts";
import type { Reservation } from "../src/cost/reservations.ts";
import { median, quantile } from "../src/cost/stats.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = path.join(ROOT, "tests/fixtures/cost/reservation-child.ts");
const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const N = 8;
const CAP = 1;
const RESERVE = 0.3;
const SPEND = 0.25;

export async function benchReservations(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), "co-bench-res-"));
  const db = `co_bench_res_${randomUUID().replace(/-/g, "")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const url = `postgres://postgres@127.0.0.1:5432/${db}`;
  try {
    const results: Record<string, unknown> = { processes: N, capUsd: CAP, reservationUsd: RESERVE, spendPerRunUsd: SPEND };
    for (const [name, target, open] of [
      ["sqlite", path.join(dir, "race"), () => openLedger({ home: path.join(dir, "race") })],
      ["postgres", url, () => openLedger({ home: dir, url })],
    ] as const) {
      results[name] = { race: await race(target, open), committedSpend: await latency(name === "sqlite" ? () => openLedger({ home: path.join(dir, "latency") }) : open) };
    }
    return results;
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function race(target: string, open: () => Promise<Ledger>): Promise<Record<string, number>> {
  await (await open()).close();
  const release = path.join(mkdtempSync(path.join(tmpdir(), "co-bench-release-")), "go");
  const lines: Record<string, unknown>[] = [];
  const children = Array.from({ length: N }, (_, i) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, target, `run-${i}`, String(RESERVE), String(SPEND), String(CAP), release], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let buffer = "";
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
        buffer = buffer.slice(nl + 1);
      }
    });
    return new Promise<void>((resolve) => child.on("exit", () => resolve()));
  });
  const ledger = await open();
  try {
    let peak = 0;
    while (lines.filter((l) => "reserved" in l || "refused" in l).length < N) {
      peak = Math.max(peak, (await ledger.committedSpend()).today);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    peak = Math.max(peak, (await ledger.committedSpend()).today);
    writeFileSync(release, "");
    await Promise.all(children);
    return {
      granted: lines.filter((l) => "reserved" in l).length,
      refused: lines.filter((l) => "refused" in l).length,
      peakCommittedUsd: round(peak),
      spentUsd: round((await ledger.committedSpend()).spentToday),
    };
  } finally {
    await ledger.close();
  }
}

async function latency(open: () => Promise<Ledger>): Promise<Record<string, number>> {
  const ledger = await open();
  const held: Reservation[] = [];
  try {
    const now = Date.now();
    for (let i = 0; i < 10_000; i++) {
      await ledger.recordStep({ runId: `h${i % 500}`, plan: "p", stepId: `s${i}`, tool: "infra.x", server: "infra", status: "succeeded", durationMs: 1, attempts: 1, usd: 0.0001, usdSource: "measured", at: now - (i % 28) * 86_400_000 });
    }
    for (let i = 0; i < 2_000; i++) {
      await ledger.recordModelCall({ runId: `h${i % 500}`, agent: "architect", model: "gpt-4o-mini", inputTokens: 100, outputTokens: 10, cachedTokens: 0, usd: 0.0001, known: true, at: now - (i % 28) * 86_400_000 });
    }
    for (let i = 0; i < 20; i++) held.push(await ledger.reserve({ runId: `live${i}`, usd: 0.01, caps: { dailyUsd: 1000, monthlyUsd: 1000 } }));
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await ledger.committedSpend("live0");
      times.push(performance.now() - started);
    }
    return { p50Ms: round(median(times)), p90Ms: round(quantile(times, 0.9)) };
  } finally {
    for (const r of held) await r.settle();
    await ledger.close();
  }
}

const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { checkBudget, createBudgetGuard } from "../../src/cost/budget.ts";
import { openLedger, type Ledger } from "../../src/cost/ledger.ts";
import { isBudgetReservationError, postgresReservations } from "../../src/cost/reservations.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { scratchDatabases } from "../helpers/postgres.ts";

const NOW = Date.UTC(2026, 10, 20, 12);
const DAY = 86_400_000;

const databases = scratchDatabases("co_res");

const backends = [
  { name: "sqlite", open: (): Promise<Ledger> => openLedger({ home: tempDir("co-res-") }) },
  { name: "postgres", open: async (): Promise<Ledger> => openLedger({ home: tempDir("co-res-"), url: await databases.create() }) },
];

afterAll(() => databases.dropAll());

const step = (runId: string, usd: number, at: number) => ({ runId, stepId: `s-${usd}`, tool: "infra.x", server: "infra", status: "succeeded", durationMs: 1, attempts: 1, usd, usdSource: "measured" as const, at });

describe.each(backends)("reservations on $name", (backend) => {
  it("counts spend and other runs' holds, refuses with the numbers, shrinks to the actual when settled", async () => {
    const ledger = await backend.open();
    try {
      const caps = { dailyUsd: 1, monthlyUsd: 3 };
      await ledger.recordStep(step("earlier", 0.2, NOW - 2 * DAY));
      await ledger.recordStep(step("today", 0.1, NOW - 1000));
      const a = await ledger.reserve({ runId: "a", usd: 0.5, caps, now: NOW });
      expect(a.others).toMatchObject({ spentToday: 0.1, reservedUsd: 0, reservations: 0 });
      expect(a.others.spentThisMonth).toBeCloseTo(0.3, 10);
      await ledger.recordStep(step("a", 0.2, NOW));
      // a holds 0.5 and has spent 0.2 of it: it still holds 0.3 beyond its spend.
      const seen = await ledger.committedSpend("b", NOW);
      expect(seen.reservedUsd).toBeCloseTo(0.3, 10);
      expect(seen.today).toBeCloseTo(0.1 + 0.2 + 0.3, 10);

      const refused = await ledger.reserve({ runId: "b", usd: 0.5, caps, now: NOW }).catch((e: unknown) => e);
      expect(isBudgetReservationError(refused)).toBe(true);
      if (!isBudgetReservationError(refused)) return;
      expect(refused.limit).toBe("daily");
      expect(refused.message).toBe("daily cap $1.00: $0.3000 spent today + $0.3000 reserved by 1 other running run(s) + $0.5000 for this run (forecast p90 $0.5000) = $1.10, over the cap");
      expect((await ledger.reservations()).map((r) => r.runId)).toEqual(["a"]);

      expect(await a.settle(NOW + 1)).toBeCloseTo(0.2, 10);
      expect(await a.settle(NOW + 2)).toBeCloseTo(0.2, 10);
      expect((await ledger.reservations())[0]).toMatchObject({ runId: "a", state: "settled", endedAt: NOW + 1 });
      expect((await ledger.reservations())[0]!.usd).toBeCloseTo(0.2, 10);
      const b = await ledger.reserve({ runId: "b", usd: 0.5, caps, now: NOW });
      expect(b.others.reservedUsd).toBe(0);
      await b.settle();
    } finally {
      await ledger.close();
    }
  });

  it("a resumed run replaces its own reservation and counts what it already spent", async () => {
    const ledger = await backend.open();
    try {
      const caps = { dailyUsd: 1, monthlyUsd: 10 };
      const first = await ledger.reserve({ runId: "r", usd: 0.6, caps, now: NOW });
      await ledger.recordStep(step("r", 0.7, NOW));
      // Its own hold does not count against it; its spend (0.7) does, being more than the new hold.
      const again = await ledger.reserve({ runId: "r", usd: 0.2, caps, now: NOW });
      expect(again.others).toMatchObject({ reservedUsd: 0, ownToday: 0.7 });
      expect((await ledger.reservations()).filter((r) => r.state === "live")).toHaveLength(1);
      const other = await ledger.reserve({ runId: "o", usd: 0.31, caps, now: NOW }).catch((e: unknown) => e);
      expect(isBudgetReservationError(other) && other.totalUsd).toBeCloseTo(1.01, 10);
      await again.settle();
      await first.settle();
    } finally {
      await ledger.close();
    }
  });

  it("refuses nonsense amounts with a clear error", async () => {
    const ledger = await backend.open();
    try {
      await expect(ledger.reserve({ runId: "x", usd: Number.NaN, caps: { dailyUsd: 1, monthlyUsd: 1 } })).rejects.toThrow(/usd must be a finite amount/);
      await expect(ledger.reserve({ runId: "", usd: 0, caps: { dailyUsd: 1, monthlyUsd: 1 } })).rejects.toThrow(/runId must not be empty/);
    } finally {
      await ledger.close();
    }
  });
});

describe("budget checks that count other runs", () => {
  it("the pre-run check adds other runs' reservations to the spend", () => {
    const forecast = { durationMs: { p50: 1, p90: 1 }, usd: { p50: 0.3, p90: 0.4 } };
    const verdict = checkBudget({ forecast, caps: { dailyUsd: 1, monthlyUsd: 10, approvalUsd: 5 }, spentToday: 0.2, spentThisMonth: 0.2, reservedUsd: 0.6, destructiveSteps: [] });
    expect(verdict.decision).toBe("reject");
    expect(verdict.reasons[0]).toBe("daily cap $1.00: $0.2000 spent today + $0.6000 reserved by running runs + $0.3000 forecast (p50) = $1.10 would cross it");
  });

  it("the running guard re-reads what the others hold at refresh()", async () => {
    let others = { today: 0.1, month: 0.1 };
    let spent = 0.2;
    const guard = createBudgetGuard({
      caps: { dailyUsd: 1, monthlyUsd: 10, approvalUsd: 5 },
      spentToday: 0,
      spentThisMonth: 0,
      runSpentUsd: () => spent,
      committed: async () => others,
    });
    await guard.refresh();
    expect(guard.check()).toEqual({ ok: true });
    others = { today: 0.85, month: 0.85 };
    expect(guard.check()).toEqual({ ok: true });
    await guard.refresh();
    const verdict = guard.check();
    expect(verdict.ok === false && verdict.limit).toBe("daily");
    expect(verdict.ok === false && verdict.message).toContain("spend today is $1.05 (with what other running runs hold), over the daily cap $1.00");
    spent = 0;
    expect(guard.check()).toEqual({ ok: true });
  });
});

describe("reservations on Postgres are leases", () => {
  const caps = { dailyUsd: 100, monthlyUsd: 1000 };

  it("live reservations hold no connection of their own: many share the ledger's pool", async () => {
    const url = await databases.create();
    const ledger = await openLedger({ home: tempDir("co-res-"), url });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const held = await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.reserve({ runId: `r${i}`, usd: 1, caps })));
      expect((await ledger.committedSpend("other")).reservations).toBe(10);
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
      // The ledger's pool (4 at most), not one per reservation.
      expect(rows[0]!.n).toBeLessThanOrEqual(4);
      await Promise.all(held.map((r) => r.settle()));
      expect((await ledger.committedSpend("other")).reservations).toBe(0);
    } finally {
      await admin.end();
      await ledger.close();
    }
  });

  it("a held lease is refreshed past its length; one whose owner is on another machine and stopped refreshing expires", async () => {
    const url = await databases.create();
    await (await openLedger({ home: tempDir("co-res-"), url })).close();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = postgresReservations(pool, 1_500);
    try {
      const mine = await store.reserve({ runId: "mine", usd: 2, caps });
      await new Promise((r) => setTimeout(r, 4_500));
      // Three lease lengths later it still counts: its timer kept it alive.
      expect((await store.committed("other", Date.now())).reservedUsd).toBeCloseTo(2, 9);
      await mine.settle();

      const owner = JSON.stringify({ host: "another-machine", pid: 4242 });
      await pool.query(
        `INSERT INTO ledger_reservations (run_id, usd, owner_json, lock_key, state, created_at, ended_at, lease_until)
         VALUES ('far', 3, $1, 7, 'live', $2, NULL, (extract(epoch from clock_timestamp()) * 1000)::bigint + 60000)`,
        [owner, Date.now()],
      );
      expect((await store.committed("other", Date.now())).reservedUsd).toBeCloseTo(3, 9);
      // Its lease runs out.
      await pool.query("UPDATE ledger_reservations SET lease_until = (extract(epoch from clock_timestamp()) * 1000)::bigint - 1 WHERE run_id = 'far'");
      expect((await store.committed("other", Date.now())).reservations).toBe(0);
      // The next reserve marks it expired.
      await (await store.reserve({ runId: "next", usd: 1, caps })).settle();
      expect((await store.list()).find((r) => r.runId === "far")?.state).toBe("expired");
    } finally {
      await pool.end();
    }
  });
});

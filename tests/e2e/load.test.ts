import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { openCheckpointer } from "../../src/checkpoint.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState, Scheduler } from "../../src/engine/schedule.ts";
import { acquireThreadLock, isThreadBusyError } from "../../src/engine/thread-lock.ts";
import { infraCaller, type FakeCaller } from "../helpers/fake-caller.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

/**
 * 20 runs at once on one checkpointer (one SQLite file, or one Postgres database), every one with
 * values of its own, so a step result that landed in another run's thread would be seen; and a
 * second run started on a busy thread is refused by the thread lock.
 */
const RUNS = 20;
/** Runs whose last step fails, so they roll back while the others are still going. */
const failing = (run: number): boolean => run % 5 === 4;
/** Runs that get a second, concurrent start on the same thread. */
const duplicated = (run: number): boolean => run % 4 === 0;

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const databases: string[] = [];

afterAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
});

interface Expected {
  thread: string;
  scheduler: Scheduler;
  /** Step id → the output it must have if it succeeded. */
  outputs: Record<string, unknown>;
}

const created = (name: string, value: string): Record<string, unknown> => ({
  id: `id-${name}`,
  name,
  value,
  rollback: { tool: "delete", arguments: { id: `id-${name}` } },
});

/** a → b, c; b + c → d → e; failing runs add boom after c. Every name and value carries the run. */
function planFor(run: number, nonce: string): { plan: unknown; expected: Expected } {
  const r = `r${run}`;
  const va = `${r}-${nonce}-a`;
  const vc = `${r}-${nonce}-c`;
  const steps: unknown[] = [
    { id: "a", tool: "infra.create", params: { name: `${r}-a`, value: va } },
    { id: "b", tool: "infra.noop", params: { name: `${r}-b`, value: "${a.value}/b" } },
    { id: "c", tool: "infra.create", params: { name: `${r}-c`, value: vc } },
    { id: "d", tool: "infra.noop", params: { name: `${r}-d`, value: "${b.value}+${c.value}" } },
    { id: "e", tool: "infra.create", params: { name: `${r}-e`, value: "${d.value}" } },
  ];
  if (failing(run)) steps.push({ id: "boom", tool: "infra.create", params: { name: `${r}-boom`, value: "${c.value}" } });
  const outputs: Record<string, unknown> = {
    a: created(`${r}-a`, va),
    b: { name: `${r}-b`, value: `${va}/b` },
    c: created(`${r}-c`, vc),
    d: { name: `${r}-d`, value: `${va}/b+${vc}` },
    e: created(`${r}-e`, `${va}/b+${vc}`),
  };
  return { plan: { name: `load ${r}`, steps }, expected: { thread: `load-${nonce}-${r}`, scheduler: run % 2 === 0 ? "asap" : "graph", outputs } };
}

/** Every step sleeps a different few milliseconds, so the runs' steps interleave. */
function sharedCaller(runs: number): FakeCaller {
  const ms: Record<string, number> = {};
  const failOn: string[] = [];
  for (let run = 0; run < runs; run++) {
    for (const s of ["a", "b", "c", "d", "e", "boom"]) ms[`r${run}-${s}`] = (run * 7 + s.charCodeAt(0) * 3) % 23;
    if (failing(run)) failOn.push(`r${run}-boom`);
  }
  return infraCaller({ ms, failOn });
}

interface Backend {
  name: string;
  /** The checkpointer URL to use: none for the default SQLite file under the state dir. */
  url(): Promise<string | undefined>;
  /** Each run opens its own connection to the same store, as separate CLI processes do. */
  connectionPerRun: boolean;
}

const backends: Backend[] = [
  { name: "one SQLite file", url: async () => undefined, connectionPerRun: false },
  { name: "one SQLite file, a connection per run", url: async () => undefined, connectionPerRun: true },
  {
    name: "Postgres",
    url: async () => {
      const db = `co_load_${randomUUID().replace(/-/g, "")}`;
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${db}`);
      await admin.end();
      databases.push(db);
      return `postgres://postgres@127.0.0.1:5432/${db}`;
    },
    connectionPerRun: false,
  },
];

describe.each(backends)("20 concurrent runs on $name", (backend) => {
  it("all complete, each thread holds only its own results, and a second start on a busy thread is refused", async () => {
    const home = tempDir("co-load-");
    const url = await backend.url();
    const shared = await openCheckpointer({ home, url });
    const caller = sharedCaller(RUNS);
    const ctx = { caller, limits: new ServerLimits(8), sleep: async () => {} };

    /** What `executeOnThread` does around a run: hold the thread's lock while the graph runs. */
    async function runExclusive(thread: string, input: { plan: unknown; scheduler: Scheduler }): Promise<[string, ExecState]> {
      const lock = await acquireThreadLock({ home, url }, thread);
      const own = backend.connectionPerRun ? await openCheckpointer({ home, url }) : undefined;
      try {
        const graph = compileExecutor({ context: async () => ctx }, (own ?? shared).saver);
        return [thread, (await graph.invoke(input, { configurable: { thread_id: thread }, recursionLimit: 1000 })) as ExecState];
      } finally {
        await own?.close();
        await lock.release();
      }
    }

    const nonce = randomUUID().slice(0, 8);
    const runs = Array.from({ length: RUNS }, (_, run) => ({ run, ...planFor(run, nonce) }));
    const started = runs.flatMap(({ run, plan, expected }) => {
      const input = { plan, scheduler: expected.scheduler };
      const first = runExclusive(expected.thread, input);
      return duplicated(run) ? [first, runExclusive(expected.thread, input)] : [first];
    });
    const settled = await Promise.allSettled(started);

    const refused = settled.filter((s) => s.status === "rejected");
    expect(refused).toHaveLength(runs.filter((r) => duplicated(r.run)).length);
    for (const r of refused) {
      expect(isThreadBusyError(r.reason)).toBe(true);
      expect((r.reason as Error).message).toMatch(/^thread "load-.+" is already running \(pid \d+.*\); wait for it or use another --thread$/);
    }
    const finals = new Map(settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])));
    expect(finals.size).toBe(RUNS);

    await shared.close();
    const reopened = await openCheckpointer({ home, url });
    try {
      const probe = compileExecutor({ context: async () => ctx }, reopened.saver);
      for (const { run, expected } of runs) {
        const state = (await probe.getState({ configurable: { thread_id: expected.thread } })).values as ExecState;
        checkRun(run, expected, state, caller);
        expect(finals.get(expected.thread)!.results).toEqual(state.results);
      }
    } finally {
      await reopened.close();
    }
    // Each step of each run was called exactly once: refused starts called nothing.
    const names = caller.calls.filter((c) => c.tool !== "delete").map((c) => String(c.args["name"]));
    expect(new Set(names).size).toBe(names.length);
  });
});

/** The thread's saved state is the run's own: its steps' outputs, and rollbacks of its own creations only. */
function checkRun(run: number, expected: Expected, state: ExecState, caller: FakeCaller): void {
  expect(state.status).toBe(failing(run) ? "rolled_back" : "succeeded");
  expect(state.scheduler).toBe(expected.scheduler);
  const succeeded = Object.values(state.results).filter((r) => r.status === "succeeded");
  for (const result of succeeded) expect(result.output).toEqual(expected.outputs[result.id]);
  const createdHere = succeeded.filter((r) => r.tool === "infra.create").map((r) => `id-r${run}-${r.id}`);
  const deletedHere = caller.callsOf("delete").map((c) => String(c.args["id"])).filter((id) => id.startsWith(`id-r${run}-`));
  if (failing(run)) {
    expect(state.results["boom"]).toMatchObject({ status: "failed", error: { message: `create r${run}-boom failed` } });
    expect(deletedHere.sort()).toEqual(createdHere.sort());
    expect(state.compensations.map((c) => c.step).sort()).toEqual(succeeded.filter((r) => r.tool === "infra.create").map((r) => r.id).sort());
  } else {
    expect(succeeded.map((r) => r.id).sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect(deletedHere).toEqual([]);
  }
}

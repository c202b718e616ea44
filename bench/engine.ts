import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Annotation, MemorySaver, START, StateGraph, task, type BaseCheckpointSaver } from "@langchain/langgraph";
import { compileExecutor } from "../graphs/executor.ts";
import { openCheckpointer } from "../src/checkpoint.ts";
import { ServerLimits } from "../src/engine/limits.ts";
import { summarizeExecution } from "../src/engine/report.ts";
import type { ExecState, Scheduler } from "../src/engine/schedule.ts";
import { criticalPath, levels, topologicalOrder } from "../src/plan/dag.ts";
import type { PlanInput } from "../src/plan/schema.ts";
import { largeDag, radDag, randomDag, sleeper, type BenchDag, type CallSpans } from "./dags.ts";
import { edgeDelaysMs, gcPauses } from "./edges.ts";

/**
 * Runs a DAG through the executor graph; returns its makespan (first step start → last step end), wall
 * time (from `startedMs`, performance.now()) and peak RSS. With `spans`, each call's start and end are recorded there.
 */
export async function runEngine(dag: BenchDag, scheduler: Scheduler, checkpointer: BaseCheckpointSaver = new MemorySaver(), spans?: CallSpans): Promise<{ makespanMs: number; startedMs: number; wallMs: number; peakRssMb: number }> {
  const ctx = { caller: sleeper(dag.ms, spans), limits: new ServerLimits(100_000) };
  const graph = compileExecutor({ context: async () => ctx }, checkpointer);
  let peak = process.memoryUsage().rss;
  const sampling = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  const started = performance.now();
  const state = (await graph.invoke({ plan: dag.plan, scheduler }, { configurable: { thread_id: `b-${Math.random()}` }, recursionLimit: 100_000 })) as ExecState;
  const wallMs = performance.now() - started;
  clearInterval(sampling);
  peak = Math.max(peak, process.memoryUsage().rss);
  if (state.status !== "succeeded") throw new Error(`${dag.name} (${scheduler}) ended ${state.status}`);
  return { makespanMs: summarizeExecution(state).timing.makespanMs, startedMs: started, wallMs, peakRssMb: Math.round(peak / 1e6) };
}

/** The seed's `topologicalSort` grouping: run level by level, each level waiting for its slowest step. */
async function runLevels(dag: BenchDag): Promise<number> {
  const { order, deps } = shape(dag.plan);
  const started = performance.now();
  for (const level of levels(order, deps)) {
    await Promise.all(level.map((id) => new Promise((r) => setTimeout(r, dag.ms[id]))));
  }
  return performance.now() - started;
}

/**
 * The floor on this machine: each step a bare timer started when its dependencies' timers fired (no
 * engine). Under load the timers fire late, and this ratio shows how much of asap's is the machine.
 */
async function runTimers(dag: BenchDag, spans?: CallSpans): Promise<number> {
  const { order, deps } = shape(dag.plan);
  const { call } = sleeper(dag.ms, spans);
  const started = performance.now();
  const done = new Map<string, Promise<unknown>>();
  for (const id of order) done.set(id, Promise.all(deps[id]!.map((d) => done.get(d))).then(() => call("bench", "sleep", { id })));
  await Promise.all(done.values());
  return performance.now() - started;
}

function shape(plan: PlanInput): { order: string[]; deps: Record<string, string[]> } {
  const deps = Object.fromEntries(plan.steps.map((s) => [s.id, s.dependencies ?? []]));
  return { order: topologicalOrder(plan.steps.map((s) => s.id), deps)!, deps };
}

function stats(values: number[]): { median: number; worst: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: round(sorted[Math.floor(sorted.length / 2)]!), worst: round(sorted[sorted.length - 1]!) };
}

const medianOf = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
}

/** One asap run and one bare-timers run of a DAG: makespan ÷ critical path, every edge's delay, and the GC pauses inside the asap run. */
async function asapBesideTimers(dag: BenchDag, gc: ReturnType<typeof gcPauses>): Promise<{ asap: number; timers: number; asapEdges: number[]; timerEdges: number[]; gcMs: number }> {
  const { order, deps } = shape(dag.plan);
  const cp = criticalPath(order, deps, (id) => dag.ms[id]!).ms;
  const asapSpans: CallSpans = new Map();
  const asap = await runEngine(dag, "asap", new MemorySaver(), asapSpans);
  const gcMs = await gc.pausedMs(asap.startedMs, asap.startedMs + asap.wallMs);
  const timerSpans: CallSpans = new Map();
  const timers = (await runTimers(dag, timerSpans)) / cp;
  return { asap: asap.makespanMs / cp, timers, asapEdges: edgeDelaysMs(deps, asapSpans), timerEdges: edgeDelaysMs(deps, timerSpans), gcMs };
}

/**
 * Makespan ÷ critical path for asap, graph (the plan as its own graph), level-by-level and sequential, on
 * the RAD DAG and 30 random DAGs; then the DAG where asap came out worst, `repeats` times more (asap and
 * bare timers alternating), to tell the engine's delay from the machine's: every edge's delay (a
 * dependency's end → its dependent's call) beside bare timers', and the GC pauses inside each asap run.
 */
export async function benchSchedulers(count = 30, repeats = 10): Promise<Record<string, unknown>> {
  await runEngine(radDag(), "asap"); // warm-up: module loading and JIT are not scheduling
  const gc = gcPauses();
  const dags = [radDag(), ...Array.from({ length: count }, (_, i) => randomDag(1000 + i, 10 + Math.floor((190 * i) / (count - 1))))];
  const ratios = { asap: [] as number[], timers: [] as number[], graph: [] as number[], levels: [] as number[], sequential: [] as number[] };
  const edges = { asap: [] as number[], timers: [] as number[] };
  const rows: Record<string, unknown>[] = [];
  for (const dag of dags) {
    const { order, deps } = shape(dag.plan);
    const cp = criticalPath(order, deps, (id) => dag.ms[id]!).ms;
    const sequential = Object.values(dag.ms).reduce((a, b) => a + b, 0);
    const run = await asapBesideTimers(dag, gc);
    const graph = (await runEngine(dag, "graph")).makespanMs / cp;
    const level = (await runLevels(dag)) / cp;
    ratios.asap.push(run.asap);
    ratios.timers.push(run.timers);
    ratios.graph.push(graph);
    ratios.levels.push(level);
    ratios.sequential.push(sequential / cp);
    edges.asap.push(...run.asapEdges);
    edges.timers.push(...run.timerEdges);
    rows.push({
      dag: dag.name,
      steps: order.length,
      criticalPathMs: cp,
      asap: round(run.asap),
      timers: round(run.timers),
      graph: round(graph),
      levels: round(level),
      sequential: round(sequential / cp),
      asapEdgeMs: stats(run.asapEdges),
      gcMsInAsap: round(run.gcMs, 1),
    });
  }
  const worst = rows.reduce((a, b) => ((b["asap"] as number) > (a["asap"] as number) ? b : a));
  const worstDag = dags.find((d) => d.name === worst["dag"])!;
  const again = [];
  for (let i = 0; i < repeats; i++) again.push(await asapBesideTimers(worstDag, gc));
  // Two large DAGs with realistic call times (100 ms–2 s), asap only: 1,000 and 2,000 steps.
  const large: Record<string, unknown>[] = [];
  for (const dag of [largeDag(7, 1_000), largeDag(8, 2_000)]) {
    const { order, deps } = shape(dag.plan);
    const run = await asapBesideTimers(dag, gc);
    ratios.asap.push(run.asap);
    ratios.timers.push(run.timers);
    large.push({ dag: dag.name, steps: order.length, criticalPathMs: criticalPath(order, deps, (id) => dag.ms[id]!).ms, asap: round(run.asap), timers: round(run.timers), asapEdgeMs: stats(run.asapEdges), timersEdgeMs: stats(run.timerEdges) });
  }
  gc.stop();
  return {
    dags: dags.length + large.length,
    asapLargeDags: large,
    asapWorstOnLargeDags: stats(large.map((r) => r["asap"] as number)).worst,
    makespanOverCriticalPath: {
      asap: stats(ratios.asap),
      timers: stats(ratios.timers),
      graph: stats(ratios.graph),
      levels: stats(ratios.levels),
      sequential: stats(ratios.sequential),
    },
    edgeDelayMs: { asap: { ...stats(edges.asap), p99: percentile(edges.asap, 0.99) }, timers: { ...stats(edges.timers), p99: percentile(edges.timers, 0.99) } },
    worstDagAgain: {
      dag: worstDag.name,
      firstRun: { asap: worst["asap"], timers: worst["timers"], gcMsInAsap: worst["gcMsInAsap"] },
      runs: repeats,
      asap: { ...stats(again.map((r) => r.asap)), best: round(Math.min(...again.map((r) => r.asap))) },
      timers: { ...stats(again.map((r) => r.timers)), best: round(Math.min(...again.map((r) => r.timers))) },
      asapEdgeMs: stats(again.flatMap((r) => r.asapEdges)),
      timersEdgeMs: stats(again.flatMap((r) => r.timerEdges)),
      gcMsInAsap: again.map((r) => round(r.gcMs, 1)),
    },
    rows,
    note: "makespan = first step start to last step end; sequential is the sum of step times (computed, not run); timers: bare timers chained as asap chains steps (the machine's floor); asap's and timers' median and worst include the two large DAGs, the other schedulers' do not; edge delay: a dependency's end → its dependent's call (asap: what the engine adds on top of the event loop); gcMsInAsap: GC pauses inside the asap run; worstDagAgain: the worst asap DAG run again, asap and timers alternating",
  };
}

/**
 * Engine cost per no-op step on SQLite (and Postgres when it answers), beside raw LangGraph
 * `task()`s created up front in one node: raw tasks cost the square of their number (LangGraph's
 * runner races every task in flight each time one settles), so they run at the smaller sizes only.
 * Each engine size runs `repeats` times; medians. Peak RSS of the 10,000-step SQLite run: in this
 * process (after the smaller sizes, with what they left), and alone in a fresh process, `repeats` times.
 */
export async function benchOverhead(sizes = [100, 1_000, 10_000], repeats = 3, rawSizes = [100, 1_000]): Promise<Record<string, unknown>> {
  await withSqlite((saver) => runEngine(noopDag(100), "asap", saver)); // warm-up (module loading, JIT)
  await withSqlite((saver) => rawTasks(100, saver));
  const perBackend = async (open: <T>(fn: (saver: BaseCheckpointSaver) => Promise<T>) => Promise<T>): Promise<Record<string, unknown>> => {
    const out: Record<string, unknown> = {};
    const usPerStep = new Map<number, number>();
    for (const n of sizes) {
      const runs: { wallMs: number; peakRssMb: number }[] = [];
      for (let i = 0; i < repeats; i++) runs.push(await open((saver) => runEngine(noopDag(n), "asap", saver)));
      const wall = medianOf(runs.map((r) => r.wallMs));
      usPerStep.set(n, (wall * 1000) / n);
      out[String(n)] = { engineMs: round(wall, 1), engineUsPerStep: round((wall * 1000) / n, 1), runsMs: runs.map((r) => round(r.wallMs, 0)), peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)) };
    }
    const big = Math.max(...sizes);
    return { ...out, [`perStep${big / 1000}kOver1k`]: round(usPerStep.get(big)! / usPerStep.get(1_000)!, 2), [`cost${big / 1000}kOver1k`]: round((usPerStep.get(big)! * big) / (usPerStep.get(1_000)! * 1_000), 2) };
  };
  const sqlite = await perBackend(withSqlite);
  const postgres = await withPostgres(async () => true).then(() => perBackend(withPostgres), (error: unknown) => ({ skipped: `no Postgres: ${error instanceof Error ? error.message : String(error)}` }));
  const raw: Record<string, unknown> = {};
  for (const n of rawSizes) {
    const ms = await withSqlite((saver) => rawTasks(n, saver));
    raw[String(n)] = { rawTaskMs: round(ms, 1), rawUsPerStep: round((ms * 1000) / n, 1) };
  }
  return {
    sqlite,
    postgres,
    rawLangGraphTasksSqlite: raw,
    peakRssMb10k: (sqlite["10000"] as { peakRssMb?: number } | undefined)?.peakRssMb,
    peakRssMb10kOwnProcess: await ownProcessRuns(10_000, repeats),
    note: "engine: the executor graph, asap, no-op steps each depending on the step 10 before; perStep…Over1k is per-step cost at the largest size ÷ at 1,000 (goal ≤ 1.2); raw: one node awaiting n task()s created up front",
  };
}

/** Peak RSS of an n-step run alone in a fresh process (`own-process-run.ts`), `repeats` times: median, and what the process held before the run. */
async function ownProcessRuns(n: number, repeats: number): Promise<Record<string, unknown>> {
  const script = fileURLToPath(new URL("./own-process-run.ts", import.meta.url));
  const tsx = fileURLToPath(import.meta.resolve("tsx/esm"));
  const runs: { peakRssMb: number; rssBeforeMb: number }[] = [];
  for (let i = 0; i < repeats; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", tsx, script, String(n)], { maxBuffer: 1e6 });
    runs.push(JSON.parse(stdout));
  }
  return { median: medianOf(runs.map((r) => r.peakRssMb)), runs: runs.map((r) => r.peakRssMb), heldBeforeTheRunMb: medianOf(runs.map((r) => r.rssBeforeMb)), note: "the run alone in a fresh process (sources through tsx, as this bench runs), as a user's run is; goal ≤ 300 MB" };
}

/** A fresh database on the local Postgres (127.0.0.1:5432) for one run, dropped after. */
async function withPostgres<T>(fn: (saver: BaseCheckpointSaver) => Promise<T>): Promise<T> {
  const { default: pg } = await import("pg");
  const name = `co_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres", connectionTimeoutMillis: 2_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const checkpointer = await openCheckpointer({ home: tmpdir(), url: `postgres://postgres@127.0.0.1:5432/${name}` });
    try {
      return await fn(checkpointer.saver);
    } finally {
      await checkpointer.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }
}

/** n no-op steps, each depending on the step 10 before it. */
export function noopDag(n: number): BenchDag {
  const steps = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, tool: "bench.sleep", dependencies: i >= 10 ? [`s${i - 10}`] : [], params: { id: `s${i}` } }));
  return { name: `noop-${n}`, plan: { name: `noop-${n}`, steps }, ms: {} };
}

export async function withSqlite<T>(fn: (saver: BaseCheckpointSaver) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), "co-bench-"));
  const checkpointer = await openCheckpointer({ home: dir, url: `sqlite:${path.join(dir, "checkpoints.sqlite")}` });
  try {
    return await fn(checkpointer.saver);
  } finally {
    await checkpointer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw LangGraph: one node creating n no-op tasks, each awaiting the task 10 before it. */
async function rawTasks(n: number, saver: BaseCheckpointSaver): Promise<number> {
  const State = Annotation.Root({ done: Annotation<number> });
  const graph = new StateGraph(State)
    .addNode("run", async () => {
      const promises: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        const before = i >= 10 ? promises[i - 10] : undefined;
        const t = task(`t${i}`, async () => {
          await before;
          return { ok: true };
        });
        const p = t();
        p.catch(() => {});
        promises.push(p);
      }
      await Promise.all(promises);
      return { done: n };
    })
    .addEdge(START, "run")
    .compile({ checkpointer: saver });
  const started = performance.now();
  await graph.invoke({ done: 0 }, { configurable: { thread_id: `raw-${n}` } });
  return performance.now() - started;
}

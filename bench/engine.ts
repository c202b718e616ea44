import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Annotation, MemorySaver, START, StateGraph, task, type BaseCheckpointSaver } from "@langchain/langgraph";
import { compileExecutor } from "../graphs/executor.ts";
import { openCheckpointer } from "../src/checkpoint.ts";
import { ServerLimits } from "../src/engine/limits.ts";
import { summarizeExecution } from "../src/engine/report.ts";
import type { ExecState, Scheduler } from "../src/engine/schedule.ts";
import { criticalPath, levels, topologicalOrder } from "../src/plan/dag.ts";
import type { PlanInput } from "../src/plan/schema.ts";
import { radDag, randomDag, sleeper, type BenchDag } from "./dags.ts";

/** Runs a DAG through the executor graph; returns its makespan (first step start → last step end) and wall time. */
async function runEngine(dag: BenchDag, scheduler: Scheduler, checkpointer: BaseCheckpointSaver = new MemorySaver()): Promise<{ makespanMs: number; wallMs: number }> {
  const ctx = { caller: sleeper(dag.ms), limits: new ServerLimits(100_000) };
  const graph = compileExecutor({ context: async () => ctx }, checkpointer);
  const started = performance.now();
  const state = (await graph.invoke({ plan: dag.plan, scheduler }, { configurable: { thread_id: `b-${Math.random()}` }, recursionLimit: 100_000 })) as ExecState;
  const wallMs = performance.now() - started;
  if (state.status !== "succeeded") throw new Error(`${dag.name} (${scheduler}) ended ${state.status}`);
  return { makespanMs: summarizeExecution(state).timing.makespanMs, wallMs };
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

function shape(plan: PlanInput): { order: string[]; deps: Record<string, string[]> } {
  const deps = Object.fromEntries(plan.steps.map((s) => [s.id, s.dependencies ?? []]));
  return { order: topologicalOrder(plan.steps.map((s) => s.id), deps)!, deps };
}

function stats(values: number[]): { median: number; worst: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: round(sorted[Math.floor(sorted.length / 2)]!), worst: round(sorted[sorted.length - 1]!) };
}

const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Makespan ÷ critical path for asap, graph (the plan as its own graph), level-by-level and sequential, on the RAD DAG and 30 random DAGs. */
export async function benchSchedulers(count = 30): Promise<Record<string, unknown>> {
  await runEngine(radDag(), "asap"); // warm-up: module loading and JIT are not scheduling
  const dags = [radDag(), ...Array.from({ length: count }, (_, i) => randomDag(1000 + i, 10 + Math.floor((190 * i) / (count - 1))))];
  const ratios = { asap: [] as number[], graph: [] as number[], levels: [] as number[], sequential: [] as number[] };
  const rows: Record<string, unknown>[] = [];
  for (const dag of dags) {
    const { order, deps } = shape(dag.plan);
    const cp = criticalPath(order, deps, (id) => dag.ms[id]!).ms;
    const sequential = Object.values(dag.ms).reduce((a, b) => a + b, 0);
    const asap = (await runEngine(dag, "asap")).makespanMs / cp;
    const graph = (await runEngine(dag, "graph")).makespanMs / cp;
    const level = (await runLevels(dag)) / cp;
    ratios.asap.push(asap);
    ratios.graph.push(graph);
    ratios.levels.push(level);
    ratios.sequential.push(sequential / cp);
    rows.push({ dag: dag.name, steps: order.length, criticalPathMs: cp, asap: round(asap), graph: round(graph), levels: round(level), sequential: round(sequential / cp) });
  }
  return {
    dags: dags.length,
    makespanOverCriticalPath: {
      asap: stats(ratios.asap),
      graph: stats(ratios.graph),
      levels: stats(ratios.levels),
      sequential: stats(ratios.sequential),
    },
    rows,
    note: "makespan = first step start to last step end; sequential is the sum of step times (computed, not run)",
  };
}

/**
 * Engine cost per no-op step with the SQLite checkpointer, beside raw LangGraph task() overhead.
 * All engine sizes run first: raw LangGraph at 10,000 tasks leaves gigabytes of garbage behind.
 */
export async function benchOverhead(sizes = [100, 1_000, 10_000]): Promise<Record<string, unknown>> {
  const engine = new Map<number, number>();
  const raw = new Map<number, number>();
  await withSqlite((saver) => runEngine(noopDag(100), "asap", saver)); // warm-up (module loading, JIT)
  await withSqlite((saver) => rawTasks(100, saver));
  for (const n of sizes) engine.set(n, await withSqlite((saver) => runEngine(noopDag(n), "asap", saver).then((r) => r.wallMs)));
  for (const n of sizes) raw.set(n, await withSqlite((saver) => rawTasks(n, saver)));
  const out: Record<string, unknown> = {};
  for (const n of sizes) {
    const e = engine.get(n)!;
    const r = raw.get(n)!;
    out[String(n)] = { engineMs: round(e, 1), rawTaskMs: round(r, 1), engineUsPerStep: round((e * 1000) / n, 1), rawUsPerStep: round((r * 1000) / n, 1), ratio: round(e / r, 2) };
  }
  return { ...out, cost10kOver1k: round((engine.get(10_000) ?? NaN) / (engine.get(1_000) ?? NaN), 2) };
}

/** n no-op steps, each depending on the step 10 before it. */
function noopDag(n: number): BenchDag {
  const steps = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, tool: "bench.sleep", dependencies: i >= 10 ? [`s${i - 10}`] : [], params: { id: `s${i}` } }));
  return { name: `noop-${n}`, plan: { name: `noop-${n}`, steps }, ms: {} };
}

async function withSqlite<T>(fn: (saver: BaseCheckpointSaver) => Promise<T>): Promise<T> {
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

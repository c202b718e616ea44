/**
 * Forecast error on every workflow template, run three times in a row against one ledger: the 2nd
 * run is forecast from the 1st, the 3rd from the 1st and 2nd, and each forecast (p50, p90) is
 * compared with what the run then cost and took. The tools are simulated in-process so that cost
 * varies the way cloud calls do: each step's true cost and time are its declared estimate times a
 * factor drawn once (the estimate is off, log-normal σ = 0.5), then vary run to run (σ = 0.2);
 * code generation reports its model usage (tokens with a model name), other paid steps a
 * `cost_usd`, free ones nothing. Times (and the plans' estimates) are scaled down 100×, so it runs
 * in about a minute. `npm run bench -- --only forecast-templates`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { compileExecutor } from "../graphs/executor.ts";
import { forecastPlan, type Forecast } from "../src/cost/forecast.ts";
import { openLedger, type Ledger } from "../src/cost/ledger.ts";
import { DEFAULT_PRICING } from "../src/cost/pricing.ts";
import { createStepRecorder, recordRunEnd } from "../src/cost/recorder.ts";
import { median, quantile } from "../src/cost/stats.ts";
import { ServerLimits } from "../src/engine/limits.ts";
import { summarizeExecution } from "../src/engine/report.ts";
import type { ExecState } from "../src/engine/schedule.ts";
import type { ToolInfo } from "../src/mcp/catalog.ts";
import type { ToolCaller } from "../src/mcp/client.ts";
import type { PlanInput } from "../src/plan/schema.ts";
import { preparePlan, type PreparedPlan } from "../src/plan/validate.ts";
import { instantiate, workflows } from "../src/workflows/index.ts";
import type { WorkflowTemplate } from "../src/workflows/types.ts";
import { logNormalMs, rng } from "./dags.ts";

const SCALE = 100;
const ESTIMATE_SIGMA = 0.5;
const RUN_SIGMA = 0.2;
const CODEGEN = "delegate_code_generation";
/** gpt-4o-mini output tokens: $0.60 per 1M. */
const USD_PER_OUTPUT_TOKEN = 0.6 / 1e6;

interface Profile {
  ms: number;
  usd: number;
  codegen: boolean;
}

interface Row {
  template: string;
  run: number;
  steps: number;
  usd: { p50: number; p90: number; actual: number };
  ms: { p50: number; p90: number; actual: number };
}

export async function benchTemplateForecast(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(path.join(tmpdir(), "co-bench-fc-templates-"));
  const ledger = await openLedger({ home: dir });
  const rows: Row[] = [];
  const skipped: string[] = [];
  try {
    for (const [i, template] of workflows.entries()) {
      const plan = benchPlan(template);
      if (!plan) {
        skipped.push(template.id);
        continue;
      }
      const tools = toolsOf(plan);
      const prepared = preparePlan(plan, { tools });
      const profiles = profilesOf(prepared, 1000 + i);
      for (let run = 1; run <= 3; run++) {
        const forecast = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING, tools });
        const actual = await runOnce(ledger, plan, tools, profiles, `${template.id}#${run}`, 5000 + 10 * i + run, forecast);
        rows.push({
          template: template.id,
          run,
          steps: prepared.order.length,
          usd: { p50: forecast.usd.p50, p90: forecast.usd.p90, actual: actual.usd },
          ms: { p50: forecast.durationMs.p50, p90: forecast.durationMs.p90, actual: actual.durationMs },
        });
      }
    }
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    templates: new Set(rows.map((r) => r.template)).size,
    skipped,
    method: "3 runs per template; run k forecast from runs 1…k−1 of the same plan; error = |actual − forecast p50| / actual",
    run1FromEstimates: summarise(rows.filter((r) => r.run === 1)),
    run2: summarise(rows.filter((r) => r.run === 2)),
    run3: summarise(rows.filter((r) => r.run === 3)),
    worstRun2: worst(rows.filter((r) => r.run === 2)),
  };
}

/** The template with its default parameters, other required ones filled; each step tagged with its id for the simulated tools. */
function benchPlan(template: WorkflowTemplate): PlanInput | undefined {
  const values: Record<string, unknown> = {};
  const shape = template.params.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  for (const [key, schema] of Object.entries(shape)) {
    if (schema.safeParse(undefined).success) continue;
    values[key] = ["bench-value", 7].find((v) => schema.safeParse(v).success);
  }
  let plan: PlanInput;
  try {
    plan = instantiate(template, values) as PlanInput;
  } catch {
    return undefined;
  }
  const referenced = referencedFields(plan);
  return {
    ...plan,
    steps: plan.steps.map((s) => ({
      ...s,
      // Estimates on the same scale as the simulated times, so the first run's forecast is comparable too.
      ...(s.estimate ? { estimate: { ...s.estimate, ...(s.estimate.ms === undefined ? {} : { ms: s.estimate.ms / SCALE }) } } : {}),
      params: { ...s.params, __bench_step: s.id, __bench_output: referenced[s.id] ?? {} },
    })),
  };
}

/** For each step, an output with every `${step.field.path}` that other steps read, so interpolation succeeds. */
function referencedFields(plan: PlanInput): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const ids = new Set(plan.steps.map((s) => s.id));
  for (const match of JSON.stringify(plan.steps).matchAll(/\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\}/g)) {
    const [, step, field] = match as unknown as [string, string, string];
    if (!ids.has(step)) continue;
    let at = (out[step] ??= {});
    const parts = field.split(".");
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[parts.at(-1)!] = `bench-${step}-${field}`;
  }
  return out;
}

function toolsOf(plan: PlanInput): ToolInfo[] {
  const names = new Set<string>();
  for (const s of plan.steps) {
    names.add(s.tool);
    if (s.rollback) names.add(s.rollback.tool.includes(".") ? s.rollback.tool : `${s.tool.split(".")[0]}.${s.rollback.tool}`);
    const inner = (s.params as Record<string, unknown> | undefined)?.["tool_name"];
    if (typeof inner === "string") names.add(`${s.tool.split(".")[0]}.${inner}`);
  }
  return [...names].map((n) => {
    const [server, name] = n.split(".") as [string, string];
    return { server, name, description: n, inputSchema: { type: "object" } };
  });
}

function profilesOf(prepared: PreparedPlan, seed: number): Record<string, Profile> {
  const random = rng(seed);
  return Object.fromEntries(
    prepared.plan.steps.map((s) => {
      const off = logNormalMs(random, 1000, ESTIMATE_SIGMA) / 1000;
      const baseMs = s.estimate?.ms ?? 1000 / SCALE;
      const usd = (s.estimate?.usd ?? 0) * off;
      return [s.id, { ms: Math.max(1, baseMs * off), usd, codegen: prepared.tools[s.id]?.tool === CODEGEN }];
    }),
  );
}

/** Tools that take the step's time and report its cost, each varying run to run. */
function simulated(tools: ToolInfo[], profiles: Record<string, Profile>, seed: number): ToolCaller {
  const random = rng(seed);
  return {
    tools,
    call: async (_server, _tool, args) => {
      const id = String(args["__bench_step"]);
      const profile = profiles[id] ?? { ms: 1, usd: 0, codegen: false };
      const ms = Math.max(1, (logNormalMs(random, 1000, RUN_SIGMA) / 1000) * profile.ms);
      const usd = (profile.usd * logNormalMs(random, 1000, RUN_SIGMA)) / 1000;
      await new Promise((resolve) => setTimeout(resolve, ms));
      const output = { ...(args["__bench_output"] as Record<string, unknown>) };
      if (profile.codegen) return { ...output, usage: { inputTokens: 0, outputTokens: Math.round(usd / USD_PER_OUTPUT_TOKEN), model: "gpt-4o-mini" } };
      return profile.usd > 0 ? { ...output, cost_usd: usd } : output;
    },
  };
}

async function runOnce(
  ledger: Ledger,
  plan: PlanInput,
  tools: ToolInfo[],
  profiles: Record<string, Profile>,
  runId: string,
  seed: number,
  forecast: Forecast,
): Promise<{ usd: number; durationMs: number }> {
  const caller = simulated(tools, profiles, seed);
  const prepared = preparePlan(plan, { tools });
  const recorder = createStepRecorder(ledger, runId, prepared, { tools });
  const ctx = { caller, limits: new ServerLimits(100_000) };
  const graph = compileExecutor({ context: async () => ctx, onEvent: (e) => recorder.onEvent(e) }, new MemorySaver());
  const startedAt = Date.now();
  const state = (await graph.invoke({ plan, scheduler: "asap", allowDestructive: true }, { configurable: { thread_id: runId }, recursionLimit: 10_000 })) as ExecState;
  await recorder.flush();
  const report = summarizeExecution(state);
  if (report.status !== "succeeded") throw new Error(`${plan.name} ended ${report.status}: ${JSON.stringify(report.steps.find((s) => s.status === "failed")?.error)}`);
  return recordRunEnd(ledger, { runId, startedAt, forecast, plan: plan.name, status: report.status, makespanMs: report.timing.makespanMs });
}

function summarise(rows: Row[]): Record<string, unknown> {
  const stat = (pick: (r: Row) => { p50: number; p90: number; actual: number }): Record<string, number> => {
    const values = rows.map(pick).filter((v) => v.actual > 0);
    const errors = values.map((v) => Math.abs(v.actual - v.p50) / v.actual);
    return {
      runs: values.length,
      relErrorP50: round(median(errors)),
      relErrorP90: round(quantile(errors, 0.9)),
      withinForecastP90: round(values.filter((v) => v.actual <= v.p90 + 1e-12).length / values.length),
    };
  };
  return { usd: stat((r) => r.usd), durationMs: stat((r) => r.ms) };
}

function worst(rows: Row[]): Record<string, unknown> {
  const err = (r: Row): number => (r.usd.actual > 0 ? Math.abs(r.usd.actual - r.usd.p50) / r.usd.actual : 0);
  const top = rows.reduce((a, b) => (err(b) > err(a) ? b : a));
  return { template: top.template, usdRelError: round(err(top)), durationRelError: round(Math.abs(top.ms.actual - top.ms.p50) / top.ms.actual) };
}

const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

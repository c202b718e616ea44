import { HumanMessage, SystemMessage, type AIMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { REPORT_SUMMARY_TEMPLATE, REPORTER_SYSTEM_PROMPT, REPORTER_USER_PROMPT } from "../prompts/reporter.ts";
import { formatMs, formatUsd } from "../src/cost/format.ts";
import { COST_METADATA } from "../src/cost/callbacks.ts";
import { compareForecast } from "../src/cost/forecast.ts";
import { measuredUsd, recordRunEnd } from "../src/cost/recorder.ts";
import { buildRunReport, type RunReport } from "../src/engine/report.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import type { ExecState } from "../src/engine/schedule.ts";
import { formatPrompt, quoteData } from "../src/models/prompt-format.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { agentThread } from "./memory.ts";
import { totalUsd, usageOf } from "./usage.ts";
import type { ModelUsage, OrchestratorReport, OrchestratorView, Outcome, Overlap } from "./types.ts";

export interface ReporterUpdate {
  report: OrchestratorReport;
  usage: ModelUsage[];
  outcome: Outcome;
}

/**
 * The Reporter: status, per-step outcomes, rollbacks, the timeline (which steps overlapped), speedup
 * over a sequential run, and cost forecast against actual; a model summary when a model is
 * configured, else a deterministic one. Records the run in the ledger when there is one.
 */
export async function reporter(state: OrchestratorView, deps: OrchestratorDeps, config?: RunnableConfig): Promise<ReporterUpdate> {
  const threadId = String(config?.configurable?.["thread_id"] ?? "");
  const { report, run } = buildReport(threadId, state);
  const picked = report.outcome === "executed" ? deps.chatModel?.("reporter", "summary") : undefined;
  const usage: ModelUsage[] = [];
  if (picked) {
    const reply = (await picked.model.invoke(
      [new SystemMessage(REPORTER_SYSTEM_PROMPT), new HumanMessage(formatPrompt(REPORTER_USER_PROMPT, { report: quoteData({ ...report, summary: undefined }) }))],
      {
        ...config,
        runName: "reporter",
        metadata: { ...config?.metadata, agent: "reporter", ...(picked.routedFrom ? { [COST_METADATA.routedFrom]: picked.routedFrom } : {}) },
        tags: ["agent:reporter"],
      },
    )) as AIMessage;
    usage.push(usageOf("reporter", reply, deps, picked));
    const text = typeof reply.content === "string" ? reply.content.trim() : "";
    if (text) {
      report.summary = text;
      report.summaryBy = "model";
    }
    report.usage.push(...usage);
    report.actual.modelUsd += totalUsd(usage);
    report.actual.usd += totalUsd(usage);
  }
  await record(report, run, state, deps);
  if (report.summaryBy === "template") report.summary = templateSummary(report);
  if (state.session && deps.memory) {
    const at = deps.now?.() ?? Date.now();
    await deps.memory.append(agentThread(state.session, "reporter"), [
      { role: "user", content: `report run ${threadId}: ${state.request}`, at },
      { role: "assistant", content: report.summary, at },
    ]);
  }
  return { report, usage, outcome: report.outcome };
}

export function buildReport(threadId: string, state: OrchestratorView): { report: OrchestratorReport; run?: RunReport } {
  const executed = state.status !== "pending" && state.status !== "invalid" && state.prepared !== undefined && state.approval?.approved === true;
  const outcome: Outcome = state.outcome ?? (executed ? "executed" : state.status === "invalid" ? "planning_failed" : "planned");
  const run = executed || state.status === "invalid" ? buildRunReport(threadId, state as unknown as ExecState) : undefined;
  const steps = (run?.steps ?? []).map(({ id, tool, status, attempts, startedAtMs, endedAtMs, output, error, reason }) => ({ id, tool, status, attempts, startedAtMs, endedAtMs, output, error, reason }));
  const modelUsd = totalUsd(state.usage);
  const toolUsd = toolCost(steps, state);
  const report: OrchestratorReport = {
    threadId,
    request: state.request,
    outcome,
    status: run ? run.status : "not_run",
    planner: state.planner,
    plan: planName(state.plan),
    problems: [...state.planProblems, ...(run?.problems ?? [])],
    steps,
    rolledBack: state.compensations ?? [],
    leftBehind: run?.leftBehind ?? [],
    timeline: {
      overlaps: overlaps(steps),
      makespanMs: run?.timing.makespanMs ?? 0,
      sequentialMs: run?.timing.sequentialMs ?? 0,
      criticalPathMs: run?.timing.criticalPathMs ?? 0,
      speedup: run?.timing.speedup ?? 1,
    },
    forecast: state.forecast,
    decision: state.decision,
    approval: state.approval,
    actual: { usd: modelUsd + toolUsd, modelUsd, toolUsd, ms: run?.timing.makespanMs ?? 0 },
    usage: [...state.usage],
    summary: "",
    summaryBy: "template",
  };
  if (report.forecast) report.comparison = compareForecast(report.forecast, { durationMs: report.actual.ms, usd: report.actual.usd });
  report.summary = templateSummary(report);
  return { report, run };
}

/** Every pair of steps whose run times intersect, with how long they overlapped. */
export function overlaps(steps: readonly Pick<StepResult, "id" | "status" | "startedAtMs" | "endedAtMs">[]): Overlap[] {
  const ran = steps.filter((s) => s.status !== "skipped");
  const out: Overlap[] = [];
  for (let i = 0; i < ran.length; i++) {
    for (let j = i + 1; j < ran.length; j++) {
      const a = ran[i]!;
      const b = ran[j]!;
      const ms = Math.min(a.endedAtMs, b.endedAtMs) - Math.max(a.startedAtMs, b.startedAtMs);
      if (ms > 0) out.push({ a: a.id, b: b.id, ms });
    }
  }
  return out;
}

function templateSummary(report: OrchestratorReport): string {
  const plan = report.plan ?? "(no plan)";
  if (report.outcome === "planning_failed") return `${plan}: could not plan the request — ${report.problems.join("; ")}`;
  if (report.outcome === "rejected") return `${plan}: rejected by the budget — ${report.decision?.reasons.join("; ") ?? ""}`;
  if (report.outcome === "declined") return `${plan}: not run — approval was declined.`;
  const forecast = report.forecast ? `forecast ${formatUsd(report.forecast.usd.p50)}, ~${formatMs(report.forecast.durationMs.p50)}` : "no forecast";
  if (report.outcome === "planned") return `${plan}: planned, not run (${forecast}).`;
  const counts = (["succeeded", "failed", "skipped"] as const)
    .map((s) => `${report.steps.filter((x) => x.status === s).length} ${s}`)
    .join(", ");
  const rolled = report.rolledBack.length > 0 ? `; rolled back ${report.rolledBack.map((c) => c.step).join(", ")}` : "";
  const t = report.timeline;
  return formatPrompt(REPORT_SUMMARY_TEMPLATE, {
    plan,
    status: report.status.replace("_", " "),
    counts: `${counts}${rolled}`,
    timing: `Took ${formatMs(t.makespanMs)} against ${formatMs(t.sequentialMs)} sequential (${t.speedup}× speedup).`,
    cost: `Cost ${formatUsd(report.actual.usd)} (${forecast}).`,
  });
}

/** Tools cost what they report (`cost_usd`), else what the plan declares, for the steps that ran. */
function toolCost(steps: readonly Pick<StepResult, "id" | "status" | "output">[], state: OrchestratorView): number {
  const declared = new Map((state.prepared?.plan.steps ?? []).map((s) => [s.id, s.estimate?.usd ?? 0]));
  return steps.filter((s) => s.status !== "skipped").reduce((sum, s) => sum + (measuredUsd(s.output) ?? declared.get(s.id) ?? 0), 0);
}

/** Writes the model calls (unless recorded as they happened) and the run's end to the ledger; actual spend into the report. */
async function record(report: OrchestratorReport, run: RunReport | undefined, state: OrchestratorView, deps: OrchestratorDeps): Promise<void> {
  const ledger = deps.ledger;
  if (!ledger || !report.threadId) return;
  const now = deps.now?.() ?? Date.now();
  if (deps.recordModelCalls !== false) {
    for (const u of report.usage) {
      await ledger.recordModelCall({
        runId: report.threadId,
        agent: u.agent,
        model: u.model,
        inputTokens: u.input_tokens,
        outputTokens: u.output_tokens,
        cachedTokens: 0,
        usd: u.usd,
        known: u.priced,
        at: now,
        ...(u.routedFrom ? { routedFrom: u.routedFrom } : {}),
      });
    }
  }
  // Steps were recorded by the execute node as they finished.
  if (!run) return;
  const started = report.steps.length > 0 ? Math.min(...report.steps.map((s) => s.startedAtMs)) : now;
  const forecast = report.forecast ? { durationMs: report.forecast.durationMs, usd: report.forecast.usd } : undefined;
  const actual = await recordRunEnd(ledger, { runId: report.threadId, request: report.request, startedAt: started, forecast, report: run }, now);
  report.actual = { ...report.actual, usd: actual.usd, toolUsd: Math.max(0, actual.usd - report.actual.modelUsd) };
  if (report.forecast) report.comparison = compareForecast(report.forecast, actual);
}

function planName(plan: unknown): string | undefined {
  const name = (plan as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : undefined;
}

import { HumanMessage, SystemMessage, type AIMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { REPORT_SUMMARY_TEMPLATE, REPORTER_SYSTEM_PROMPT, REPORTER_USER_PROMPT } from "../prompts/reporter.ts";
import { formatMs, formatUsd } from "../src/cost/format.ts";
import { COST_METADATA } from "../src/cost/callbacks.ts";
import { compareForecast } from "../src/cost/forecast.ts";
import { measuredUsd, recordRunEnd } from "../src/cost/recorder.ts";
import { summarizeExecution } from "../src/engine/report.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import type { RunState, RunUpdate } from "../graphs/state.ts";
import { formatPrompt, quoteData } from "../src/models/prompt-format.ts";
import { createdResources, undoCalls, type SessionResource, type UndoCall } from "../src/planner/index.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { agentThread } from "./memory.ts";
import { totalUsd, usageOf } from "./usage.ts";
import type { ModelUsage, Outcome, Report } from "./types.ts";

/**
 * The Reporter: status, per-step outcomes, what a failure undid and left behind, the timeline (which
 * steps overlapped), speedup over a sequential run, cost forecast against actual, and against the
 * previous run of the same plan (its own session thread, else the ledger); a model summary when a
 * model is configured, else a deterministic one. Records the run's end in the ledger.
 */
export async function reporter(state: RunState, deps: OrchestratorDeps, config?: RunnableConfig): Promise<RunUpdate> {
  const threadId = String(config?.configurable?.["thread_id"] ?? "");
  const report = buildReport(threadId, state);
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
  await record(report, state, deps);
  if (report.outcome === "executed") report.previous = await compareWithPrevious(report, state, deps);
  if (report.summaryBy === "template") report.summary = templateSummary(report);
  if (state.session && deps.memory && report.outcome === "executed") {
    const at = deps.now?.() ?? Date.now();
    const entry: RememberedRun = { plan: report.plan ?? "", runId: threadId, status: String(report.status), ms: report.actual.ms, usd: report.actual.usd, created: createdResources(report.steps, threadId), undo: undoCalls(report.steps, Object.fromEntries((state.prepared?.plan.steps ?? []).map((s) => [s.id, s.agent]))) };
    await deps.memory.append(agentThread(state.session, "reporter"), [{ role: "assistant", content: JSON.stringify(entry), at }]);
  }
  return { report, usage, outcome: report.outcome };
}

/** What the reporter keeps in its session thread: each run's plan, time and cost, and what it created (ids and names only). */
export interface RememberedRun {
  plan: string;
  runId: string;
  status: string;
  ms: number;
  usd: number;
  /** For a later turn's "tear it down": the architect reads them back. */
  created?: SessionResource[];
  /** The delete calls its create steps returned, last made first: "tear it down" runs them. */
  undo?: UndoCall[];
}

/** The report of a run, from its state: built once, here. */
export function buildReport(threadId: string, state: RunState): Report {
  // A run with steps that ran (before a replan, or while its plan streamed) ran, even if what came after was declined.
  const executed = state.status !== "pending" && state.status !== "invalid" && state.prepared !== undefined && (state.approval?.approved === true || Object.keys(state.results).length > 0);
  const outcome: Outcome = state.outcome ?? (executed ? "executed" : state.status === "invalid" ? "planning_failed" : "planned");
  const execution = summarizeExecution(state);
  const ran = executed || state.status === "invalid";
  const modelUsd = totalUsd(state.usage);
  const toolUsd = ran ? toolCost(execution.steps, state) : 0;
  const report: Report = {
    ...execution,
    threadId,
    request: state.request,
    outcome,
    status: ran ? state.status : "not_run",
    planner: state.planner,
    plan: state.prepared?.plan.name ?? planName(state.plan),
    ...(state.replans.length > 0 ? { replans: state.replans } : {}),
    problems: [...state.planProblems, ...execution.problems],
    forecast: state.forecast,
    decision: state.decision,
    approval: state.approval,
    actual: { usd: modelUsd + toolUsd, modelUsd, toolUsd, ms: execution.timing.makespanMs },
    usage: [...state.usage],
    summary: "",
    summaryBy: "template",
  };
  if (report.forecast) report.comparison = compareForecast(report.forecast, { durationMs: report.actual.ms, usd: report.actual.usd });
  report.summary = templateSummary(report);
  return report;
}

/** "12% faster than the last run (run-…), same cost": against the session's previous run of this plan, else the ledger's. */
async function compareWithPrevious(report: Report, state: RunState, deps: OrchestratorDeps): Promise<Report["previous"]> {
  let previous: RememberedRun | undefined;
  if (state.session && deps.memory) {
    const messages = await deps.memory.load(agentThread(state.session, "reporter"));
    previous = messages
      .map((m) => parseRun(m.content))
      .filter((r): r is RememberedRun => r !== undefined && r.plan === report.plan && r.runId !== report.threadId && r.status === "succeeded")
      .at(-1);
  } else if (deps.ledger) {
    const runs = await deps.ledger.runs();
    const last = runs.filter((r) => r.plan === report.plan && r.runId !== report.threadId && r.status === "succeeded" && r.actual).sort((a, b) => a.startedAt - b.startedAt).at(-1);
    if (last?.actual) previous = { plan: last.plan, runId: last.runId, status: last.status, ms: last.actual.durationMs, usd: last.actual.usd };
  }
  if (!previous) return undefined;
  return { runId: previous.runId, ms: previous.ms, usd: previous.usd, text: `${relative(report.actual.ms, previous.ms, "faster", "slower", "as fast")} than the last run (${previous.runId}), ${relative(report.actual.usd, previous.usd, "cheaper", "dearer", "same cost")}` };
}

function relative(now: number, before: number, less: string, more: string, same: string): string {
  if (before <= 0 || Math.abs(now - before) / before < 0.01) return same;
  const pct = Math.round((Math.abs(now - before) / before) * 100);
  return `${pct}% ${now < before ? less : more}`;
}

export function parseRun(content: string): RememberedRun | undefined {
  try {
    const value = JSON.parse(content) as Partial<RememberedRun>;
    return typeof value.plan === "string" && typeof value.ms === "number" ? (value as RememberedRun) : undefined;
  } catch {
    return undefined;
  }
}

function templateSummary(report: Report): string {
  const plan = report.plan ?? "(no plan)";
  if (report.outcome === "planning_failed") return `${plan}: could not plan the request — ${report.problems.join("; ")}`;
  if (report.outcome === "preflight_failed") return `${plan}: cannot run here, nothing was created — ${report.problems.join("; ")}`;
  if (report.outcome === "rejected") return `${plan}: rejected by the budget — ${report.decision?.reasons.join("; ") ?? ""}`;
  if (report.outcome === "declined") return `${plan}: not run — ${report.decision?.remembered ?? "approval was declined"}.`;
  const forecast = report.forecast ? `forecast ${formatUsd(report.forecast.usd.p50)}, ~${formatMs(report.forecast.durationMs.p50)}` : "no forecast";
  if (report.outcome === "planned") return `${plan}: planned, not run (${forecast}).`;
  const counts = (["succeeded", "failed", "skipped"] as const)
    .map((s) => `${report.steps.filter((x) => x.status === s).length} ${s}`)
    .join(", ");
  const undone = report.outcomes.filter((o) => o.outcome === "undone").map((o) => o.step);
  const rolled = undone.length > 0 ? `; rolled back ${undone.join(", ")}` : "";
  const left = report.leftBehind.length > 0 ? `; left behind ${report.leftBehind.join(", ")}` : "";
  const t = report.timing;
  const replanned = (report.replans ?? []).map((r) => ` After "${r.failed.step}" failed (${r.failed.error}), ${r.verdict === "replanned" ? `the architect replanned: ${r.steps?.join(", ") ?? ""}` : `the replan ${r.verdict.replaceAll("_", " ")}: ${r.reason}`}.`).join("");
  const previous = report.previous ? ` ${report.previous.text}.` : "";
  return formatPrompt(REPORT_SUMMARY_TEMPLATE, {
    plan,
    status: report.status.replaceAll("_", " "),
    counts: `${counts}${rolled}${left}`,
    timing: `Took ${formatMs(t.makespanMs)} against ${formatMs(t.sequentialMs)} sequential (${t.speedup}× speedup).`,
    cost: `Cost ${formatUsd(report.actual.usd)} (${forecast}).${previous}${replanned}`,
  });
}

/** Tools cost what they report (`cost_usd`), else what the plan declares, for the steps that ran. */
function toolCost(steps: readonly StepResult[], state: RunState): number {
  const declared = new Map((state.prepared?.plan.steps ?? []).map((s) => [s.id, s.estimate?.usd ?? 0]));
  return steps.filter((s) => s.status === "succeeded" || s.status === "failed").reduce((sum, s) => sum + (measuredUsd(s.output) ?? declared.get(s.id) ?? 0), 0);
}

/** Writes the model calls (unless recorded as they happened) and the run's end to the ledger; actual spend into the report. */
async function record(report: Report, state: RunState, deps: OrchestratorDeps): Promise<void> {
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
  if (report.status === "not_run" || report.status === "invalid") return;
  const started = report.steps.length > 0 ? Math.min(...report.steps.map((s) => s.startedAtMs)) : now;
  const forecast = report.forecast ? { durationMs: report.forecast.durationMs, usd: report.forecast.usd } : undefined;
  const actual = await recordRunEnd(ledger, { runId: report.threadId, request: state.request || undefined, startedAt: started, forecast, plan: report.plan ?? "", status: report.status, makespanMs: report.timing.makespanMs }, now);
  report.actual = { ...report.actual, usd: actual.usd, toolUsd: Math.max(0, actual.usd - report.actual.modelUsd) };
  if (report.forecast) report.comparison = compareForecast(report.forecast, actual);
}

function planName(plan: unknown): string | undefined {
  const name = (plan as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : undefined;
}

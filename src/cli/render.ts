import type { PlanStepEvent, Report } from "../../agents/types.ts";
import type { RunState } from "../../graphs/state.ts";
import { formatComparison, formatForecast } from "../cost/forecast.ts";
import { formatMs, formatUsd } from "../cost/format.ts";
import type { StepEvent } from "../engine/step-event.ts";
import type { RunQuestion } from "../run/drive.ts";

const WIDTH = 40;
const MARK: Record<string, string> = { succeeded: "✓", failed: "✗", skipped: "·", held: "‖" };
const OUTCOME_MARK: Record<string, string> = { undone: "↺", nothing_to_undo: "·", left_behind: "!", undo_failed: "✗" };

/** Which planner, the plan as a table, the forecast and the budget verdict. */
export function renderPlan(state: RunState): string {
  const lines = [renderPlanner(state)];
  const prepared = state.prepared;
  const forecast = state.forecast;
  if (prepared) {
    const perStep = new Map((forecast?.perStep ?? []).map((s) => [s.id, s]));
    const steps = prepared.plan.steps;
    const idWidth = Math.max(4, ...steps.map((s) => s.id.length));
    const toolWidth = Math.max(4, ...steps.map((s) => (perStep.get(s.id)?.tool ?? s.tool).length));
    lines.push(`  ${"step".padEnd(idWidth)}  ${"tool".padEnd(toolWidth)}  ${"after".padEnd(24)}  forecast`);
    for (const step of steps) {
      const f = perStep.get(step.id);
      const deps = (prepared.deps[step.id] ?? []).join(", ") || "—";
      const destructive = state.decision?.destructiveSteps.some((d) => d === step.id || d === `${step.id} (rollback)`) ? "  ⚠ needs approval" : "";
      const est = f ? `${formatMs(f.ms.p50)} ${formatUsd(f.usd)} (${f.source})` : "";
      lines.push(`  ${step.id.padEnd(idWidth)}  ${(f?.tool ?? step.tool).padEnd(toolWidth)}  ${deps.padEnd(24)}  ${est}${destructive}`);
    }
  }
  if (forecast) lines.push(...formatForecast(forecast).split("\n").map((l) => `  ${l}`));
  const d = state.decision;
  if (d) {
    const verdict = d.verdict === "ok" ? "within budget" : d.verdict === "ask" ? "needs approval" : "rejected";
    lines.push(`  budget: ${verdict} (today ${formatUsd(d.spentTodayUsd)} of ${formatUsd(d.dailyCapUsd)}, month ${formatUsd(d.spentMonthUsd)} of ${formatUsd(d.monthlyCapUsd)})`);
    for (const r of d.reasons) lines.push(`    - ${r}`);
    if (d.remembered) lines.push(`    - ${d.remembered}`);
  }
  return lines.join("\n");
}

/** One line on where the plan came from and why. */
export function renderPlanner(state: Pick<RunState, "planner" | "prepared" | "plan">): string {
  const p = state.planner;
  const name = state.prepared?.plan.name ?? (state.plan as { name?: string } | undefined)?.name ?? "(no plan)";
  if (!p) return `plan "${name}"`;
  const by =
    p.kind === "model"
      ? `the model planner (${p.model ?? "model"}, ${p.cached ? "from the plan cache" : `${p.attempts ?? 1} call(s)`})`
      : p.kind === "catalog"
        ? "the catalog planner (no model configured)"
        : p.kind === "workflow"
          ? "a workflow"
          : "a plan file";
  const lines = [`plan "${name}" from ${by}: ${p.reason}`];
  if (p.reading && p.reading.kind !== "new") lines.push(`  read as ${p.reading.kind === "refinement" ? "a refinement" : "a reference to an earlier result"}: ${p.reading.reason}`);
  if (p.changes) lines.push(...(p.changes.length > 0 ? p.changes.map((c) => `  ${c}`) : ["  (no change to the plan)"]));
  for (const f of p.filled ?? []) lines.push(`  param ${f}`);
  return lines.join("\n");
}

/**
 * A turn that ended without a plan: one line of what went wrong, then what to do — the workflows
 * that came close, numbered, each with its one-line description and the `--workflow` that runs it
 * (without the flag when the person is asked to pick by number), or the questions with the
 * `--param` that answers each.
 */
export function renderPlanningFailure(report: Pick<Report, "problems" | "planner">, options: { asking?: boolean } = {}): string {
  const missing = report.planner?.missing ?? [];
  if (missing.length > 0) {
    const head = `needs ${missing.length === 1 ? "an answer" : `${missing.length} answers`} before it can plan${report.planner?.workflow ? ` "${report.planner.workflow.name}"` : ""}:`;
    return [head, ...missing.map((q) => `  ? ${q.question} (${q.detail}) ${q.flag}`)].join("\n");
  }
  const [first = "could not plan the request"] = report.problems;
  // The planner's message carries the closest list and what it can do offline: shown once, below.
  const reason = first.split(/; closest: |\. Offline I can: /)[0]!;
  const lines = [`✗ could not plan: ${reason}${report.problems.length > 1 ? ` (+${report.problems.length - 1} more; --json lists them)` : ""}`];
  const choices = report.planner?.choices ?? [];
  const closest = report.planner?.closest ?? [];
  if (choices.length > 0) {
    lines.push("  did you mean:");
    // Asked on a terminal, the number answers; printed for a script, the flag that runs each.
    lines.push(...choices.map((c, i) => `  ${i + 1}) ${c.id} — ${c.description}${options.asking ? "" : ` (--workflow ${c.id})`}`));
  } else if (closest.length > 0) lines.push(`  closest: ${closest.map((c) => `${c.id} (${c.name})`).join(", ")} — run one with --workflow <id>, or say more`);
  else {
    const can = /Offline I can: (.*?)\. Configure/.exec(first)?.[1];
    if (can) lines.push(`  offline I can: ${can}; a model (OPENAI_API_KEY or OPENAI_BASE_URL) plans free-form requests`);
  }
  return lines.join("\n");
}

/** A question the run waits at. */
export function renderQuestion(question: RunQuestion): string {
  if (question.kind === "breakpoint") {
    // The inputs as the call would get them: secrets stay handles (secret://…), never values.
    const steps = question.steps.flatMap((s) => [`  ${s.id} (${s.tool}) inputs:`, ...JSON.stringify(s.inputs, null, 2).split("\n").map((l) => `    ${l}`)]);
    return [`breakpoint: ${question.question}`, ...steps].join("\n");
  }
  const what = question.kind === "budget" ? "budget crossed" : "approval needed";
  return [`${what}: ${question.question}`, ...question.reasons.map((r) => `  - ${r}`)].join("\n");
}

/** The human report: status, per-step timeline, what a failure undid and left behind, timing, cost, summary. */
export function renderReport(report: Report): string {
  const plan = report.plan ?? "(no plan)";
  // Steps that started while the plan streamed are shown with their rollback even when planning failed or was stopped.
  if (report.outcome === "planning_failed") return [renderPlanningFailure(report), ...(report.steps.length > 0 ? [...renderStreamed(report), ...timelineLines(report)] : [])].join("\n");
  if (report.outcome !== "executed") {
    // The plan and its forecast were printed before the question: one line says how it ended.
    const lines = [`${plan} — ${report.outcome.replace("_", " ")} (thread ${report.threadId})`];
    for (const p of report.problems) lines.push(`  ✗ ${p}`);
    if (report.decision?.remembered && report.outcome === "declined") lines.push(`  ${report.decision.remembered}`);
    lines.push(...renderStreamed(report), ...renderReplans(report));
    return lines.join("\n");
  }
  const lines = [`${plan} — ${String(report.status).replaceAll("_", " ")} (thread ${report.threadId})`];
  for (const p of report.problems) lines.push(`  ✗ ${p}`);
  for (const n of report.notes) lines.push(`  note: ${n}`);
  lines.push(...renderStreamed(report), ...renderReplans(report));
  const ran = report.steps.filter((s) => s.status === "succeeded" || s.status === "failed");
  lines.push(...timelineLines(report));
  const held = report.steps.filter((s) => s.status === "held");
  if (held.length > 0) lines.push(`  ‖ held by the budget: ${held.map((s) => s.id).join(", ")} — they run once a person approves more (resume ${report.threadId} --approve)`);
  if (report.status === "succeeded") {
    for (const step of report.steps) {
      const url = (step.output as { url?: unknown } | undefined)?.url;
      if (typeof url === "string" && /^https?:\/\//.test(url)) lines.push(`  → ${step.id}: ${url}`);
    }
  }
  if (ran.length) {
    const t = report.timing;
    lines.push(`  makespan ${t.makespanMs} ms · critical path ${t.criticalPathMs} ms · sequential ${t.sequentialMs} ms · speedup ${t.speedup}×`);
    if (t.overlaps.length > 0 && t.overlaps.length <= 20) lines.push(`  overlapped: ${t.overlaps.map((o) => `${o.a}∥${o.b}`).join(", ")}`);
  }
  if (report.comparison) lines.push(...formatComparison(report.comparison).split("\n").map((l) => `  ${l}`));
  if (report.previous) lines.push(`  ${report.previous.text}`);
  const tokens = report.usage.reduce((s, u) => s + u.input_tokens + u.output_tokens, 0);
  if (report.usage.length > 0) {
    const unpriced = report.usage.filter((u) => !u.priced).map((u) => u.model);
    lines.push(`  model: ${report.usage.length} call(s), ${tokens} tokens, ${formatUsd(report.usage.reduce((s, u) => s + u.usd, 0))}${unpriced.length ? ` (unpriced: ${[...new Set(unpriced)].join(", ")})` : ""}`);
  }
  lines.push(`summary: ${report.summary}`);
  return lines.join("\n");
}

/**
 * Each replan: the original failure (the failed step is not among the report's steps: the replacement
 * took its place), what the architect answered, its tokens, and what the replacement changed.
 */
function renderReplans(report: Pick<Report, "replans">): string[] {
  return (report.replans ?? []).flatMap((r, i) => {
    const answer = r.verdict === "replanned" ? "replanned" : r.verdict === "gave_up" ? "gave up" : r.verdict === "invalid" ? "no valid replacement" : "the replan call failed";
    const tokens = r.tokens ? `, ${r.tokens.input} prompt + ${r.tokens.output} completion tokens` : "";
    const next = r.verdict === "replanned" ? "" : " — rolled back";
    return [
      `  ✗ ${r.failed.step} (${r.failed.tool}) failed: ${r.failed.error}`,
      `  ⟳ replan ${i + 1}: ${answer}${r.reason ? ` — ${r.reason}` : ""} (${r.attempts} model call(s)${tokens})${next}`,
      ...(r.kept.length > 0 ? [`      kept: ${r.kept.join(", ")} (not called again)`] : []),
      ...(r.changes ?? []).map((c) => `      ${c}`),
      ...(r.problems ?? []).map((p) => `      ✗ ${p}`),
    ];
  });
}

/** Steps of a streamed plan that did not start while it streamed, and why (the first one is what closed the gate). */
function renderStreamed(report: Pick<Report, "planner">): string[] {
  const streamed = report.planner?.streamed ?? [];
  const started = streamed.filter((s) => s.started).length;
  if (started === 0) return [];
  const held = streamed.filter((s) => s.held);
  return [
    `  streamed: ${started} of ${streamed.length} step(s) started while the plan streamed${held.length > 0 ? "; waited for the whole plan:" : ""}`,
    ...held.map((s) => `      ‖ ${s.id}: ${s.held}`),
  ];
}

/** Per step its timeline bar, then what a failure undid and left behind. */
function timelineLines(report: Report): string[] {
  const lines: string[] = [];
  const ran = report.steps.filter((s) => s.status === "succeeded" || s.status === "failed");
  const t0 = ran.length ? Math.min(...ran.map((s) => s.startedAtMs)) : 0;
  const span = Math.max(1, report.timing.makespanMs);
  const idWidth = Math.max(4, ...report.steps.map((s) => s.id.length));
  for (const step of report.steps) {
    const didRun = step.status === "succeeded" || step.status === "failed";
    const bar = didRun ? timelineBar(step.startedAtMs - t0, step.endedAtMs - t0, span) : "";
    const ms = didRun ? `${step.endedAtMs - step.startedAtMs} ms` : "";
    const detail = step.error ? ` — ${step.error.message}` : step.reason ? ` — ${step.reason}` : step.attempts > 1 ? ` (${step.attempts} attempts)` : "";
    lines.push(`  ${MARK[step.status] ?? "?"} ${step.id.padEnd(idWidth)} |${bar.padEnd(WIDTH)}| ${ms.padStart(8)}${detail}`);
  }
  for (const o of report.outcomes) lines.push(`  ${OUTCOME_MARK[o.outcome]} ${o.step}: ${o.outcome.replaceAll("_", " ")} (${o.detail})`);
  if (report.leftBehind.length) lines.push(`  ! left behind: ${report.leftBehind.join(", ")}`);
  return lines;
}

function timelineBar(start: number, end: number, span: number): string {
  const from = Math.min(WIDTH - 1, Math.floor((start / span) * WIDTH));
  const to = Math.max(from + 1, Math.min(WIDTH, Math.round((end / span) * WIDTH)));
  return " ".repeat(from) + "█".repeat(to - from);
}

/** A step of a streamed plan the moment its JSON is complete, while the model still writes the rest. */
export function renderPlanStep(event: PlanStepEvent): string {
  const verdict = event.status === "invalid"
    ? ` — invalid: ${(event.problems ?? []).join("; ")}`
    : event.status === "waiting"
      ? " — names a step not arrived yet: waits for the whole plan"
      : "";
  return `  ${event.attempt > 1 ? `repair ${event.attempt - 1}: ` : ""}+ ${event.id}${event.tool ? ` (${event.tool})` : ""} planned at ${formatMs(event.atMs)}${verdict}`;
}

/** One line per step event, for live progress on a terminal or a log. */
export function renderEvent(event: StepEvent): string {
  if (event.type === "step_started") return `  ▶ ${event.id} (${event.tool})`;
  if (event.type === "step_progress") return `  … ${event.id} ${event.total ? `${Math.round((event.progress / event.total) * 100)}%` : `progress ${event.progress}`}${event.message ? ` — ${event.message}` : ""}`;
  if (event.type === "step_finished") {
    const r = event.result;
    return `  ${MARK[r.status]} ${r.id} ${r.status} in ${r.endedAtMs - r.startedAtMs} ms${r.error ? ` — ${r.error.message}` : ""}`;
  }
  const c = event.result;
  return `  ↺ rollback of ${c.step}: ${c.status}${c.error ? ` — ${c.error.message}` : ""}`;
}

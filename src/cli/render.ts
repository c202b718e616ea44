import type { RunReport } from "../engine/report.ts";
import type { StepEvent } from "../engine/schedule.ts";

const WIDTH = 40;
const MARK: Record<string, string> = { succeeded: "✓", failed: "✗", skipped: "·" };

/** A human summary of a run: status, one line per step with a timeline bar, rollbacks, timing. */
export function renderRunReport(report: RunReport): string {
  const lines = [`${report.plan} — ${report.status.replace("_", " ")} (thread ${report.threadId})`];
  for (const p of report.problems) lines.push(`  ✗ ${p}`);
  for (const n of report.notes) lines.push(`  note: ${n}`);
  const ran = report.steps.filter((s) => s.status !== "skipped");
  const t0 = ran.length ? Math.min(...ran.map((s) => s.startedAtMs)) : 0;
  const span = Math.max(1, report.timing.makespanMs);
  const idWidth = Math.max(4, ...report.steps.map((s) => s.id.length));
  for (const step of report.steps) {
    const bar = step.status === "skipped" ? "" : timelineBar(step.startedAtMs - t0, step.endedAtMs - t0, span);
    const ms = step.status === "skipped" ? "" : `${step.endedAtMs - step.startedAtMs} ms`;
    const detail = step.error ? ` — ${step.error.message}` : step.reason ? ` — ${step.reason}` : step.attempts > 1 ? ` (${step.attempts} attempts)` : "";
    lines.push(`  ${MARK[step.status] ?? "?"} ${step.id.padEnd(idWidth)} |${bar.padEnd(WIDTH)}| ${ms.padStart(8)}${detail}`);
  }
  for (const c of report.compensations) {
    lines.push(`  ↺ rolled back ${c.step} with ${c.tool}: ${c.status}${c.error ? ` — ${c.error.message}` : ""}`);
  }
  if (report.leftBehind.length) lines.push(`  ! may be left behind: ${report.leftBehind.join(", ")}`);
  if (report.status === "succeeded") {
    for (const step of report.steps) {
      const url = (step.output as { url?: unknown } | undefined)?.url;
      if (typeof url === "string" && /^https?:\/\//.test(url)) lines.push(`  → ${step.id}: ${url}`);
    }
  }
  if (ran.length) {
    const t = report.timing;
    lines.push(`  makespan ${t.makespanMs} ms · critical path ${t.criticalPathMs} ms · sequential ${t.sequentialMs} ms · speedup ${t.speedup}×`);
  }
  return lines.join("\n");
}

function timelineBar(start: number, end: number, span: number): string {
  const from = Math.min(WIDTH - 1, Math.floor((start / span) * WIDTH));
  const to = Math.max(from + 1, Math.min(WIDTH, Math.round((end / span) * WIDTH)));
  return " ".repeat(from) + "█".repeat(to - from);
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

import type { DoctorReport } from "./checks.ts";

const MARK = { ok: "ok", info: "--", warn: "!!", fail: "XX" } as const;

/** The report as a table: one row per check, its fix indented under it. */
export function renderDoctor(report: DoctorReport): string {
  const width = Math.max(...report.rows.map((r) => r.check.length));
  const lines = report.rows.flatMap((row) => {
    const line = `${MARK[row.status]}  ${row.check.padEnd(width)}  ${row.value}`;
    return row.fix ? [line, `    ${" ".repeat(width)}  fix: ${row.fix}`] : [line];
  });
  const failed = report.rows.filter((r) => r.status === "fail").length;
  const warned = report.rows.filter((r) => r.status === "warn").length;
  lines.push("", `${failed === 0 ? "ready" : `${failed} problem${failed > 1 ? "s" : ""}`}${warned ? `, ${warned} warning${warned > 1 ? "s" : ""}` : ""} (${report.durationMs} ms)`);
  return lines.join("\n");
}

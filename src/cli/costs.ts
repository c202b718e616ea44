import type { AppConfig } from "../config.ts";
import { costReport, DIMENSIONS, parseSince, type AccuracyStat, type CostReport, type Dimension } from "../cost/analytics.ts";
import { formatMs, formatPct, formatUsd } from "../cost/format.ts";
import { openLedger } from "../cost/ledger.ts";
import { loadCostSettings } from "../cost/settings.ts";
import { UsageError } from "./args.ts";
import type { Io } from "./io.ts";

/**
 * `costs [--since 7d] [--by agent|tool|model|run] [--json] [--ledger url]`: totals, a breakdown,
 * forecast accuracy and spend per day, from the ledger (the checkpointer's Postgres when
 * DATABASE_URL is set, else `<home>/ledger.sqlite`).
 */
export async function costsCommand(values: { since?: string; by?: string; json?: boolean; ledger?: string }, config: AppConfig, io: Io): Promise<number> {
  const sinceText = values.since ?? "7d";
  const since = parseSince(sinceText);
  if (since === undefined) throw new UsageError(`--since expects 30m, 24h, 7d, 2w or a date (2026-11-01), got "${sinceText}"`);
  const by = values.by ?? "agent";
  if (!DIMENSIONS.includes(by as Dimension)) throw new UsageError(`--by must be ${DIMENSIONS.join(", ")}, got "${by}"`);
  const settings = loadCostSettings(config);
  const ledger = await openLedger({ home: config.home, url: values.ledger ?? config.databaseUrl });
  try {
    const report = await costReport(ledger, { since, by: by as Dimension, pricing: settings.pricing });
    io.out(values.json ? JSON.stringify(report, null, 2) : renderCostReport(report, `${sinceText}, ${ledger.description}`));
    return 0;
  } finally {
    await ledger.close();
  }
}

/** The text report: totals, breakdown table, forecast accuracy, bars per day. */
export function renderCostReport(report: CostReport, source: string): string {
  const t = report.totals;
  const lines = [
    `costs since ${new Date(report.since).toISOString().slice(0, 16).replace("T", " ")} UTC (${source})`,
    `total ${formatUsd(t.usd)}: models ${formatUsd(t.modelUsd)} (${t.modelCalls} calls, ${count(t.inputTokens)} in / ${count(t.outputTokens)} out tokens, ${count(t.cachedTokens)} cached), ` +
      `steps ${formatUsd(t.stepUsd)} (${t.steps} steps), ${t.runs} runs`,
  ];
  const unknown = Object.entries(report.unknownModels);
  if (unknown.length) lines.push(`unpriced models (not in the totals): ${unknown.map(([m, n]) => `${m} (${n} calls)`).join(", ")}`);
  if (report.reserved.runs > 0) lines.push(`held by ${report.reserved.runs} running run(s): ${formatUsd(report.reserved.usd)} reserved beyond what they spent so far`);
  if (report.routing) {
    const r = report.routing;
    lines.push(`model routing saved ${formatUsd(r.savedUsd)}: ${r.routedCalls} routed calls cost ${formatUsd(r.actualUsd)} instead of ${formatUsd(r.defaultUsd)} on the default models`);
  }
  lines.push("", `by ${report.by}:`, ...table(report));
  lines.push("", "forecast accuracy (forecast p50 vs actual):");
  lines.push(accuracyLine("duration", report.accuracy.durationMs, formatMs), accuracyLine("cost", report.accuracy.usd, formatUsd));
  lines.push("", "per day:", ...bars(report.perDay));
  return lines.join("\n");
}

function table(report: CostReport): string[] {
  if (report.breakdown.length === 0) return ["  (nothing recorded)"];
  const stepsDim = report.by === "tool";
  const header = stepsDim ? ["tool", "steps", "time", "usd"] : [report.by, "calls", "in tok", "out tok", "usd"];
  if (report.by === "run") header.push("time", "plan");
  const rows = report.breakdown.map((r) => {
    const usd = `${formatUsd(r.usd)}${r.known ? "" : " + unpriced"}`;
    const cells = stepsDim ? [r.key, String(r.count), formatMs(r.durationMs), usd] : [r.key, String(r.count), count(r.inputTokens), count(r.outputTokens), usd];
    if (report.by === "run") cells.push(formatMs(r.durationMs), r.detail ?? "");
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => `  ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`.trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

function accuracyLine(label: string, stat: AccuracyStat | undefined, fmt: (n: number) => string): string {
  if (!stat) return `  ${label}: no runs with a forecast and an actual yet`;
  return `  ${label}: median |error| ${fmt(stat.medianAbsError)} (${formatPct(stat.medianRelError)}), worst ${formatPct(stat.worstRelError)}, ` +
    `${formatPct(stat.withinP90)} within p90, over ${stat.runs} runs`;
}

const BLOCKS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const BAR_WIDTH = 40;

/** One bar per day, scaled to the largest day, in eighths of a character. */
export function bars(days: readonly { day: string; usd: number }[]): string[] {
  const max = Math.max(0, ...days.map((d) => d.usd));
  return days.map(({ day, usd }) => {
    const eighths = max > 0 ? Math.round((usd / max) * BAR_WIDTH * 8) : 0;
    const bar = "█".repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8];
    return `  ${day.slice(5)} ${bar.padEnd(BAR_WIDTH)} ${formatUsd(usd)}`;
  });
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

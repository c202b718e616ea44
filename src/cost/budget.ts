import type { AppConfig } from "../config.ts";
import { formatUsd } from "./format.ts";
import type { Ledger } from "./ledger.ts";
import type { CommittedSpend } from "./reservations.ts";
import type { ForecastSummary } from "./types.ts";

/** Hard caps (daily, monthly) and the amount above which a run needs approval. From `AppConfig.budgets`. */
export type BudgetCaps = AppConfig["budgets"];

export type BudgetDecision = "ok" | "ask" | "reject";

export interface BudgetCheck {
  forecast: ForecastSummary;
  /** A budget for this one run (`--budget`), if given. */
  runBudgetUsd?: number;
  caps: BudgetCaps;
  spentToday: number;
  spentThisMonth: number;
  /**
   * What live reservations of other running runs still hold (`ledger.committedSpend(runId).reservedUsd`):
   * counted on top of the spend against both caps.
   */
  reservedUsd?: number;
  /** Ids (or descriptions) of destructive steps: they always need approval. */
  destructiveSteps: readonly string[];
  /** Models without a price: the forecast may be low, so ask. */
  unknownModels?: readonly string[];
}

export interface BudgetVerdict {
  decision: BudgetDecision;
  /** Every reason, with the numbers; empty when ok. */
  reasons: string[];
}

/**
 * Before a run. Reject when the expected cost (p50) would cross the daily or monthly cap; ask when
 * its p90 might cross one, when it is over the run budget or the approval threshold, when a step is
 * destructive, or when a model has no price; else ok.
 */
export function checkBudget(input: BudgetCheck): BudgetVerdict {
  const { forecast, caps } = input;
  const hard: string[] = [];
  const soft: string[] = [];
  const capped = [
    { name: "daily", cap: caps.dailyUsd, spent: input.spentToday, when: "today" },
    { name: "monthly", cap: caps.monthlyUsd, spent: input.spentThisMonth, when: "this month" },
  ];
  const reserved = input.reservedUsd ?? 0;
  const held = reserved > 0 ? ` + ${formatUsd(reserved)} reserved by running runs` : "";
  for (const { name, cap, spent: actual, when } of capped) {
    const spent = actual + reserved;
    const text = (usd: number, label: string): string =>
      `${name} cap ${formatUsd(cap)}: ${formatUsd(actual)} spent ${when}${held} + ${formatUsd(usd)} ${label} = ${formatUsd(spent + usd)}`;
    if (spent + forecast.usd.p50 > cap) hard.push(`${text(forecast.usd.p50, "forecast (p50)")} would cross it`);
    else if (spent + forecast.usd.p90 > cap) soft.push(`${text(forecast.usd.p90, "forecast (p90)")} might cross it`);
  }
  if (input.runBudgetUsd !== undefined && forecast.usd.p90 > input.runBudgetUsd) {
    soft.push(`forecast ${formatUsd(forecast.usd.p90)} (p90) is over the run budget ${formatUsd(input.runBudgetUsd)}`);
  }
  if (forecast.usd.p90 > caps.approvalUsd) {
    soft.push(`forecast ${formatUsd(forecast.usd.p90)} (p90) is over the approval threshold ${formatUsd(caps.approvalUsd)}`);
  }
  if (input.destructiveSteps.length > 0) soft.push(`destructive steps: ${input.destructiveSteps.join(", ")}`);
  if (input.unknownModels?.length) soft.push(`no price for ${input.unknownModels.join(", ")}: their cost is not in the forecast`);
  if (hard.length > 0) return { decision: "reject", reasons: [...hard, ...soft] };
  return { decision: soft.length > 0 ? "ask" : "ok", reasons: soft };
}

/** Spend in the current UTC day and UTC month, from the ledger. */
export async function spendSoFar(ledger: Ledger, now: number = Date.now()): Promise<{ today: number; month: number }> {
  const d = new Date(now);
  const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { today: await ledger.spentBetween(dayStart), month: await ledger.spentBetween(monthStart) };
}

/** A limit a running run can cross. */
export type BudgetLimit = "run" | "daily" | "monthly";

export type GuardCheck = { ok: true } | { ok: false; limit: BudgetLimit; message: string };

export interface BudgetGuardOptions {
  caps: BudgetCaps;
  /** Spend before this run started (from spendSoFar). */
  spentToday: number;
  spentThisMonth: number;
  /** What this run has spent so far (model calls + steps), read live at every check. */
  runSpentUsd: () => number;
  /**
   * What this run may spend without asking again: the run budget, or the amount approved before the
   * run (e.g. the forecast's p90), at least the approval threshold. Default: `caps.approvalUsd`.
   */
  runLimitUsd?: number;
  /** Limits already approved (restored on resume); they no longer stop the run. */
  approved?: readonly BudgetLimit[];
  /**
   * What the other runs have committed, live: `() => ledger.committedSpend(runId)` (their actual
   * spend plus what their reservations still hold). When given, `refresh()` reads it and `check()`
   * counts it in place of spentToday/spentThisMonth, so concurrent runs in other processes count.
   */
  committed?: () => Promise<Pick<CommittedSpend, "today" | "month">>;
}

export interface BudgetGuard {
  /** Called before each step starts: may it start? */
  check(): GuardCheck;
  /** The person approved going on: the limits crossed now no longer stop this run. */
  approve(): void;
  /** Limits approved so far (to keep in state across a resume). */
  approved(): BudgetLimit[];
  /** Re-reads the other runs' commitments (see `committed`); call before `check()` at each tool call. */
  refresh(): Promise<void>;
}

/**
 * The running-budget guard. The executor calls `check()` before starting each step; on `ok: false`
 * it starts no new step, waits for the in-flight ones, then asks (interrupt) with `message`; on
 * approval it calls `approve()` and goes on.
 */
export function createBudgetGuard(options: BudgetGuardOptions): BudgetGuard {
  const approved = new Set<BudgetLimit>(options.approved ?? []);
  const runLimit = Math.max(options.runLimitUsd ?? options.caps.approvalUsd, 0);
  let others = { today: options.spentToday, month: options.spentThisMonth };
  const by = options.committed ? " (with what other running runs hold)" : "";
  const crossed = (): { limit: BudgetLimit; message: string }[] => {
    const spent = options.runSpentUsd();
    const out: { limit: BudgetLimit; message: string }[] = [];
    if (spent > runLimit) out.push({ limit: "run", message: `this run has spent ${formatUsd(spent)}, over the ${formatUsd(runLimit)} it was allowed` });
    const today = others.today + spent;
    if (today > options.caps.dailyUsd) out.push({ limit: "daily", message: `spend today is ${formatUsd(today)}${by}, over the daily cap ${formatUsd(options.caps.dailyUsd)}` });
    const month = others.month + spent;
    if (month > options.caps.monthlyUsd) {
      out.push({ limit: "monthly", message: `spend this month is ${formatUsd(month)}${by}, over the monthly cap ${formatUsd(options.caps.monthlyUsd)}` });
    }
    return out.filter((c) => !approved.has(c.limit));
  };
  return {
    check: () => {
      const over = crossed();
      if (over.length === 0) return { ok: true };
      return { ok: false, limit: over[0]!.limit, message: `budget: ${over.map((c) => c.message).join("; ")}; no new steps start until you approve` };
    },
    approve: () => {
      for (const c of crossed()) approved.add(c.limit);
    },
    approved: () => [...approved],
    refresh: async () => {
      if (!options.committed) return;
      const now = await options.committed();
      others = { today: now.today, month: now.month };
    },
  };
}

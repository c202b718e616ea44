import { readFile } from "node:fs/promises";
import type { Scheduler } from "../engine/state.ts";

/** Bad input on the command line: the message names the flag or argument (exit 2). */
export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError;
}

/** `--param key=value` pairs; values that are JSON (numbers, booleans, objects) keep their type. */
export function parseParams(pairs: readonly string[] | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param expects key=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

/** `--budget 0.25` or `--budget $0.25`. */
export function parseBudget(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/^\$/, ""));
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--budget must be a non-negative amount in USD, got "${value}"`);
  return n;
}

/**
 * `--scheduler asap|graph`. `waves` (one `Send` wave at a time) was replaced by `graph`, which steps
 * through a run node by node as waves did, with each step's own node and breakpoints, and waits less.
 */
export function parseScheduler(value: string | undefined): Scheduler {
  if (value === undefined || value === "asap" || value === "graph") return value ?? "asap";
  if (value === "waves") throw new UsageError(SCHEDULER_WAVES_GONE);
  throw new UsageError(`--scheduler must be asap or graph, got "${value}"`);
}

export const SCHEDULER_WAVES_GONE =
  "--scheduler waves was removed: use --scheduler graph to step through a run (one node per step, --break-before, Studio's interruptBefore), or asap (the default, fastest)";

/** A whole number ≥ 1 (`--concurrency`). */
export function parseCount(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number ≥ 1, got "${value}"`);
  return n;
}

export function answerFlag(approve: boolean | undefined, reject: boolean | undefined): boolean | undefined {
  if (approve && reject) throw new UsageError("--approve and --reject contradict each other");
  return approve ? true : reject ? false : undefined;
}

export async function readPlanFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read plan ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`plan ${file} is not JSON: ${(error as Error).message}`);
  }
}

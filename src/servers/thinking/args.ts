import path from "node:path";
import { parseArgs } from "node:util";
import type { AppConfig } from "../../config.ts";
import { ThinkingError } from "./errors.ts";

export interface ThinkingServeOptions {
  /** Streamable HTTP port (0 picks a free one); stdio when absent. */
  http?: number;
  host?: string;
  /** SQLite file, or `:memory:`. */
  db: string;
  ttlMs: number;
  maxThoughtsPerSession: number;
  maxThoughtLength: number;
  agentId?: string;
}

export const THINKING_DEFAULTS = {
  dbFile: "thinking.db",
  ttlMs: 24 * 60 * 60 * 1000,
  maxThoughtsPerSession: 1000,
  maxThoughtLength: 20_000,
} as const;

export const THINKING_USAGE = `credit-optimizer serve thinking [options]
  --http PORT                serve Streamable HTTP at http://HOST:PORT/mcp (0: any free port); stdio when absent
  --host HOST                HTTP interface (default 127.0.0.1)
  --db FILE|:memory:         session database (default <state dir>/${THINKING_DEFAULTS.dbFile})
  --ttl DURATION             evict sessions idle this long: 500ms, 90s, 30m, 12h, 7d; a bare number is seconds (default 24h)
  --max-thoughts N           records one session may hold (default ${THINKING_DEFAULTS.maxThoughtsPerSession})
  --max-thought-length N     characters per thought (default ${THINKING_DEFAULTS.maxThoughtLength})
  --agent-id ID              default session (default: AGENT_ID from the environment, else "default")`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `serve thinking` flags; a bad flag throws a ThinkingError naming it. */
export function parseThinkingArgs(argv: string[], config: AppConfig): ThinkingServeOptions {
  const values = parseFlags(argv);
  return {
    http: values.http === undefined ? undefined : parseCount("--http", values.http, 0, 65_535),
    host: values.host,
    db: dbPath(values.db, config.home),
    ttlMs: values.ttl === undefined ? THINKING_DEFAULTS.ttlMs : parseDuration("--ttl", values.ttl),
    maxThoughtsPerSession:
      values["max-thoughts"] === undefined ? THINKING_DEFAULTS.maxThoughtsPerSession : parseCount("--max-thoughts", values["max-thoughts"], 1),
    maxThoughtLength:
      values["max-thought-length"] === undefined
        ? THINKING_DEFAULTS.maxThoughtLength
        : parseCount("--max-thought-length", values["max-thought-length"], 1),
    agentId: values["agent-id"] ?? config.env.AGENT_ID,
  };
}

function parseFlags(argv: string[]): Record<string, string | undefined> {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        http: { type: "string" },
        host: { type: "string" },
        db: { type: "string" },
        ttl: { type: "string" },
        "max-thoughts": { type: "string" },
        "max-thought-length": { type: "string" },
        "agent-id": { type: "string" },
      },
    }).values;
  } catch (error) {
    throw new ThinkingError("INVALID_ARGS", `serve thinking: ${(error as Error).message}\n${THINKING_USAGE}`);
  }
}

function dbPath(flag: string | undefined, home: string): string {
  if (flag === undefined) return path.join(home, THINKING_DEFAULTS.dbFile);
  if (flag.trim() === "") throw new ThinkingError("INVALID_ARGS", "serve thinking: --db expects a file path or :memory:, got an empty string");
  return flag === ":memory:" ? flag : path.resolve(flag);
}

function parseCount(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new ThinkingError("INVALID_ARGS", `serve thinking: ${flag} expects a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function parseDuration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNITS[match[2] ?? "s"] ?? 1000) : Number.NaN;
  if (!(ms > 0)) {
    throw new ThinkingError("INVALID_ARGS", `serve thinking: ${flag} expects a positive duration such as 90s, 30m, 12h or 7d, got "${text}"`);
  }
  return ms;
}

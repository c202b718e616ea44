import { issueTexts } from "../../zod-issues.ts";
import { z } from "zod";
import type { RetryOptions } from "./http.ts";

/** Where a provider's backend comes from: its cloud REST API (token set) or the local services. */
export interface ToolkitEnv {
  /** Directory for on-disk state of the local backend (process registry, bare git repos, …). */
  dataDir: string;
  /** Admin URL of the local Postgres server, e.g. postgres://postgres@127.0.0.1:5432/postgres, or `embedded` (PGlite). */
  localPostgresUrl: string;
  /** Use the embedded Postgres when the server at `localPostgresUrl` cannot be reached (set when no URL was configured). */
  localPostgresFallback?: boolean;
  /** URL of the local Redis server, e.g. redis://127.0.0.1:6379, or `private` (always the private redis-server). */
  localRedisUrl: string;
  /** Start a private redis-server when nothing answers at `localRedisUrl` (set when no URL was configured). */
  localRedisFallback?: boolean;
  /** A PATH value: where `redis-server` and `git` are looked up (from the configuration; nothing is found when absent). */
  searchPath?: string;
  /** The secret store (src/secrets.ts) that keeps the private Redis's admin password; under `dataDir` when absent. */
  secretStore?: { home: string; keyHex?: string };
  /** Where generated apps live: local deploys run `<workspaceRoot>/<name>` (default `<home>/workspace`). */
  workspaceRoot?: string;
  /** Local deploys: how long a started app gets to answer `GET /health` with 200 (default 30 s). */
  localDeployTimeoutMs?: number;
  /**
   * `orgId`: the organization projects are listed and created in (NEON_ORG_ID; resolved from the
   * account when Neon asks for one); `retry`: HTTP retry timings; `pollIntervalMs`/`pollTimeoutMs`:
   * operation polling (defaults 1 s / 5 min).
   */
  neon?: { apiKey: string; baseUrl: string; orgId?: string; retry?: RetryOptions; pollIntervalMs?: number; pollTimeoutMs?: number };
  /** `retry`: HTTP retry timings. */
  upstash?: { email: string; apiKey: string; baseUrl: string; retry?: RetryOptions };
  /** `retry`: HTTP retry timings; `pollIntervalMs`/`deployTimeoutMs`: deployment polling (defaults 2 s / 10 min). */
  vercel?: {
    token: string;
    baseUrl: string;
    teamId?: string;
    retry?: RetryOptions;
    pollIntervalMs?: number;
    deployTimeoutMs?: number;
  };
  /**
   * `retry`: HTTP retry timings; `timeoutMs`: per-request timeout (default 30 s); `waitSeconds`:
   * how long Fly holds a machine wait before its 408 (default and maximum 60).
   */
  fly?: { token: string; baseUrl: string; orgSlug: string; retry?: RetryOptions; timeoutMs?: number; waitSeconds?: number };
  /**
   * `retry`: HTTP retry timings; `maxRateLimitWaitMs`: a rate-limit wait (retry-after or until
   * x-ratelimit-reset) longer than this fails the call instead (default 60 s).
   */
  github?: { token: string; baseUrl: string; owner?: string; retry?: RetryOptions; maxRateLimitWaitMs?: number };
}

/** The call that undoes what a create tool made, with concrete arguments. */
export interface RollbackCall {
  tool: string;
  arguments: Record<string, unknown>;
}

/** One toolkit tool: the same input and output shape whichever backend serves it. */
export interface ToolkitTool<I extends z.ZodObject = z.ZodObject> {
  name: string;
  category: "neon" | "upstash" | "vercel" | "fly" | "github";
  description: string;
  input: I;
  /** Deletes and other irreversible tools. */
  destructive?: boolean;
  /** Reads only: nothing to undo when a later step fails. */
  readOnly?: boolean;
  /** Changes a resource whose delete tool (this one) also undoes it: a deploy goes with its project. */
  undoneWith?: string;
  /** Output fields that hold secrets (passwords, tokens, connection strings with credentials). */
  secretFields?: string[];
  /**
   * For create tools: the delete call that undoes this output; undefined when the call made
   * nothing (an idempotent create that found the resource already there).
   */
  rollback?: (input: z.infer<I>, output: Record<string, unknown>) => RollbackCall | undefined;
  run(input: z.infer<I>, env: ToolkitEnv, signal?: AbortSignal): Promise<Record<string, unknown>>;
}

/** A tool input that fails its schema; the message names the tool and each bad field. */
export class ToolInputError extends Error {
  readonly code = "TOOL_INPUT_INVALID";

  constructor(tool: string, issues: readonly z.core.$ZodIssue[]) {
    super(`${tool}: invalid input: ${issueTexts(issues, "", "(input)").join("; ")}`);
    this.name = "ToolInputError";
  }
}

export function isToolInputError(error: unknown): error is ToolInputError {
  return error instanceof ToolInputError;
}

/** Parses a tool's input with its schema; throws a ToolInputError naming the fields. */
export function parseToolInput<I extends z.ZodObject>(tool: string, schema: I, input: unknown): z.infer<I> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ToolInputError(tool, parsed.error.issues);
  return parsed.data;
}

/** Which backend serves a category: its cloud API when a token is configured, else the local services. */
export function backendOf(category: ToolkitTool["category"], env: ToolkitEnv): "cloud" | "local" {
  return env[category] ? "cloud" : "local";
}

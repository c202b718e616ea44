import type { ResolvedTool } from "../mcp/catalog.ts";
import { isToolCallError, type ProgressUpdate, type ToolCaller } from "../mcp/client.ts";
import { interpolate, isInterpolationError, type Scope } from "../plan/interpolate.ts";
import type { RetryPolicy, Step } from "../plan/schema.ts";
import { denial, type AllowLists } from "../policy.ts";
import { maskSecrets, type SecretStore } from "../secrets.ts";
import type { ServerLimits } from "./limits.ts";

export type StepStatus = "succeeded" | "failed" | "skipped";

export interface StepError {
  code: string;
  message: string;
  retryable: boolean;
}

/** What one step did. Steps never throw: a failure is a value. */
export interface StepResult {
  id: string;
  /** `server.tool` that was called. */
  tool: string;
  status: StepStatus;
  attempts: number;
  startedAtMs: number;
  endedAtMs: number;
  output?: unknown;
  error?: StepError;
  /** Why a step was skipped (a dependency failed, the run was stopped). */
  reason?: string;
}

export interface RunContext {
  caller: ToolCaller;
  limits: ServerLimits;
  secrets?: SecretStore;
  /** Per-agent allow-lists, checked again on the interpolated arguments of every call. */
  allow?: AllowLists;
  /** Servers whose tools changed since they were pinned (server → what changed). */
  untrusted?: Record<string, string[]>;
  /** Used when a step declares no retry policy. */
  defaultRetry?: RetryPolicy;
  /** Used when a step declares no timeout. */
  defaultTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Aborting cancels the call in flight (the server gets `notifications/cancelled`). */
  signal?: AbortSignal;
  /** The step's progress notifications. */
  onProgress?: (update: ProgressUpdate) => void;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, backoffMs: 250 };
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Interpolates (unless `literal`: params that came from a tool's output are never interpolated),
 * calls the tool with retries and a timeout, and returns the result as a value.
 */
export async function runStep(step: Step, resolved: ResolvedTool, scope: Scope, ctx: RunContext, literal = false): Promise<StepResult> {
  const startedAtMs = Date.now();
  const tool = `${resolved.server}.${resolved.tool}`;
  const done = (fields: Partial<StepResult> & Pick<StepResult, "status" | "attempts">): StepResult => ({
    id: step.id,
    tool,
    startedAtMs,
    endedAtMs: Date.now(),
    ...fields,
  });

  let args: Record<string, unknown>;
  try {
    args = literal ? step.params : interpolate(step.params, scope);
  } catch (error) {
    if (!isInterpolationError(error)) throw error;
    return done({ status: "failed", attempts: 0, error: { code: error.code, message: error.message, retryable: false } });
  }
  const denied = ctx.allow && denial(ctx.allow, step.agent, resolved.server, resolved.tool, args);
  if (denied) return done({ status: "failed", attempts: 0, error: { code: "NOT_ALLOWED", message: denied, retryable: false } });
  const revealed = ctx.secrets ? ctx.secrets.reveal(args) : args;

  const policy = step.retry ?? ctx.defaultRetry ?? DEFAULT_RETRY;
  const timeoutMs = step.timeoutMs ?? ctx.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const semaphore = ctx.limits.for(resolved.server);
  for (let attempt = 1; ; attempt++) {
    try {
      const output = await semaphore.run(() => ctx.caller.call(resolved.server, resolved.tool, revealed, { timeoutMs, signal: ctx.signal, onProgress: ctx.onProgress }));
      return done({ status: "succeeded", attempts: attempt, output: await protect(output, resolved, ctx) });
    } catch (error) {
      const stepError = toStepError(error);
      if (!stepError.retryable || attempt >= policy.maxAttempts) {
        return done({ status: "failed", attempts: attempt, error: stepError });
      }
      await (ctx.sleep ?? sleep)(backoffMs(policy, attempt, ctx.random ?? Math.random));
    }
  }
}

/** Exponential backoff with full jitter in its upper half: base·2^(n−1)·[0.5, 1). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const base = policy.backoffMs ?? DEFAULT_RETRY.backoffMs ?? 0;
  const ceiling = Math.min(MAX_BACKOFF_MS, base * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

async function protect(output: unknown, resolved: ResolvedTool, ctx: RunContext): Promise<unknown> {
  if (!ctx.secrets) return output;
  const info = ctx.caller.tools.find((t) => t.server === resolved.server && t.name === resolved.tool);
  const declared = info?.meta?.["credit-optimizer/secretFields"];
  return ctx.secrets.protect(output, Array.isArray(declared) ? declared.map(String) : []);
}

function toStepError(error: unknown): StepError {
  if (isToolCallError(error)) return { code: error.code, message: maskSecrets(error.message), retryable: error.retryable };
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", message: maskSecrets(message), retryable: false };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import type { ResolvedTool, ToolInfo } from "../mcp/catalog.ts";
import { providerOf } from "../mcp/tool-meta.ts";
import { isToolCallError, type ProgressUpdate, type ToolCaller } from "../mcp/client.ts";
import { interpolate, isInterpolationError, type Scope } from "../plan/interpolate.ts";
import type { RetryPolicy, Step } from "../plan/schema.ts";
import type { AllowPolicy } from "../policy/allow.ts";
import { describeRefusal, type CallGate, type CallOrigin } from "../policy/gate.ts";
import { backoffDelay } from "../backoff.ts";
import { maskSecrets, type SecretStore } from "../secrets.ts";
import type { ServerLimits } from "./limits.ts";

/** `held`: the running budget stopped the call before it started; it runs once a person approves. */
export type StepStatus = "succeeded" | "failed" | "skipped" | "held";

export interface StepError {
  code: string;
  message: string;
  retryable: boolean;
}

/** One call of a step's tool: when it ran and, for a failed try, why. */
export interface AttemptSpan {
  startedAtMs: number;
  endedAtMs: number;
  error?: StepError;
}

/** What one step did. Steps never throw: a failure is a value. */
export interface StepResult {
  id: string;
  /** `server.tool` that was called. */
  tool: string;
  status: StepStatus;
  attempts: number;
  /**
   * Each call in order (the gaps between them are the backoff). Absent when no call was made, and
   * in results saved by versions before it was recorded.
   */
  attemptSpans?: AttemptSpan[];
  startedAtMs: number;
  endedAtMs: number;
  output?: unknown;
  error?: StepError;
  /** Why a step was skipped or held (a dependency failed, the run was stopped, the budget). */
  reason?: string;
  /** The budget limit that held this step's own call (`held` only). */
  heldBy?: string;
  /** Why the gate let a call through without the usual checks (a rollback returned by its create call). */
  trusted?: string;
}

export interface RunContext {
  caller: ToolCaller;
  limits: ServerLimits;
  secrets?: SecretStore;
  /** Per-agent allow-lists (the gate checks every call against them). */
  allow?: AllowPolicy;
  /** Servers whose tools changed since they were pinned (server → what changed). */
  untrusted?: Record<string, string[]>;
  /** The policy gate every call passes, on its interpolated arguments; the executor sets it per run. */
  gate?: CallGate;
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
 * Interpolates (unless the call is a returned rollback: params that came from a tool's output are
 * never interpolated), passes every attempt through the policy gate, calls the tool with retries and
 * a timeout, and returns the result as a value.
 */
export async function runStep(step: Step, resolved: ResolvedTool, scope: Scope, ctx: RunContext, origin: CallOrigin = "step"): Promise<StepResult> {
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
    args = origin === "returned-rollback" ? step.params : interpolate(step.params, scope);
  } catch (error) {
    if (!isInterpolationError(error)) throw error;
    return done({ status: "failed", attempts: 0, error: { code: error.code, message: error.message, retryable: false } });
  }
  let revealed: Record<string, unknown>;
  try {
    revealed = ctx.secrets ? ctx.secrets.reveal(args) : args;
  } catch (error) {
    // A handle this store cannot open (another store's, or another key): the step fails; the run does not crash.
    return done({ status: "failed", attempts: 0, error: { code: "SECRET_UNAVAILABLE", message: `step "${step.id}": ${maskSecrets(error instanceof Error ? error.message : String(error))}`, retryable: false } });
  }

  const policy = step.retry ?? ctx.defaultRetry ?? DEFAULT_RETRY;
  const timeoutMs = step.timeoutMs ?? ctx.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const semaphore = ctx.limits.for(resolved.server);
  // The rate-limit account the call reaches: a provider's 429 pauses its calls only, on every worker.
  const provider = providerOf(toolInfo(resolved, ctx), args);
  const spans: AttemptSpan[] = [];
  const withSpans = (fields: Partial<StepResult> & Pick<StepResult, "status" | "attempts">): StepResult => done(spans.length > 0 ? { ...fields, attemptSpans: spans } : fields);
  let trusted: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const verdict = ctx.gate ? await ctx.gate({ step: step.id, agent: step.agent, server: resolved.server, tool: resolved.tool, args, origin }) : { ok: true as const };
    if (!verdict.ok) {
      if (verdict.hold) return withSpans({ status: "held", attempts: attempt - 1, reason: verdict.message, heldBy: verdict.limit });
      const code = `POLICY_${verdict.rule.toUpperCase().replace("-", "_")}`;
      return withSpans({ status: "failed", attempts: attempt - 1, error: { code, message: `step "${step.id}": ${describeRefusal(resolved, verdict)}`, retryable: false } });
    }
    trusted = verdict.trusted;
    // The span starts when the call does: time waiting for the server's concurrency limit is not the attempt's.
    const span: AttemptSpan = { startedAtMs: 0, endedAtMs: 0 };
    try {
      const output = await semaphore.run(() => {
        span.startedAtMs = Date.now();
        return ctx.caller.call(resolved.server, resolved.tool, revealed, { timeoutMs, signal: ctx.signal, onProgress: ctx.onProgress, rateLimitsToCaller: ctx.limits.rateLimitsToCaller });
      }, provider);
      spans.push({ ...span, endedAtMs: Date.now() });
      return withSpans({ status: "succeeded", attempts: attempt, output: await protect(output, resolved, ctx), ...(trusted ? { trusted } : {}) });
    } catch (error) {
      const stepError = toStepError(error);
      if (span.startedAtMs > 0) spans.push({ ...span, endedAtMs: Date.now(), error: stepError });
      if (!stepError.retryable || attempt >= policy.maxAttempts) {
        return withSpans({ status: "failed", attempts: attempt, error: stepError });
      }
      await (ctx.sleep ?? sleep)(backoffDelay(attempt, policy.backoffMs ?? DEFAULT_RETRY.backoffMs ?? 0, MAX_BACKOFF_MS, ctx.random));
    }
  }
}

function toolInfo(resolved: ResolvedTool, ctx: RunContext): ToolInfo | undefined {
  return ctx.caller.tools.find((t) => t.server === resolved.server && t.name === resolved.tool);
}

async function protect(output: unknown, resolved: ResolvedTool, ctx: RunContext): Promise<unknown> {
  if (!ctx.secrets) return output;
  const info = toolInfo(resolved, ctx);
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

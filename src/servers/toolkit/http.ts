import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay } from "../../backoff.ts";
import { maskSecrets } from "../../secrets.ts";

/**
 * How a cloud client authenticates. `scheme` is the bearer-style scheme word (default `Bearer`;
 * Fly.io's macaroon tokens use `FlyV1`).
 */
export type HttpAuth = { type: "bearer"; token: string; scheme?: string } | { type: "basic"; username: string; password: string };

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt, with jitter (default 500 ms). */
  baseDelayMs?: number;
  /** Upper bound of one backoff delay (default 10 s). */
  maxDelayMs?: number;
  /** A `retry-after` longer than this fails the call instead of waiting (default 60 s). */
  maxRetryAfterMs?: number;
}

export interface HttpClientOptions {
  /** Provider name used in error messages, e.g. "neon". */
  provider: string;
  baseUrl: string;
  auth?: HttpAuth;
  headers?: Record<string, string>;
  retry?: RetryOptions;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** Extra strings to remove from error messages, besides the credentials in `auth`. */
  secrets?: string[];
  /**
   * A provider's own reading of a failed response (e.g. GitHub's 403 rate limits): `{ waitMs }`
   * retries after that wait, even for a create, since a rate-limited call did not happen;
   * undefined leaves the status to the default rules.
   */
  rateLimit?: (response: { status: number; headers: Headers; message: string; attempt: number }) => { waitMs: number } | undefined;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** `false` disables retries altogether. */
  retry?: boolean;
  /**
   * Whether repeating the call is harmless (default: GET, PUT and DELETE are; POST and PATCH are
   * not). A call that is not is retried only when the provider says it did not happen (423, 429,
   * a connection refused before anything was sent); after a 5xx, a timeout or a dropped
   * connection it fails with `outcome: "unknown"`, so the caller can look the resource up.
   */
  idempotent?: boolean;
  /** This call's own timeout, e.g. for a long poll that must outlast its server-side wait. */
  timeoutMs?: number;
}

export interface HttpResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

export interface HttpClient {
  request<T = unknown>(path: string, options?: RequestOptions): Promise<HttpResponse<T>>;
}

/** Statuses retried with backoff: locked, rate limited, transient server errors. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([423, 429, 500, 502, 503, 504]);

/**
 * Whether the failed call took effect: `not-done` when the provider refused it (4xx, 423, 429)
 * or it never left this machine (connection refused, unknown host); `unknown` after a 5xx, a
 * timeout or a connection dropped mid-call.
 */
export type CallOutcome = "not-done" | "unknown";

/** A failed provider call: the provider's HTTP status (0 for network errors) and message, secrets removed. */
export class ProviderError extends Error {
  readonly code = "PROVIDER_ERROR";
  readonly provider: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly outcome: CallOutcome;
  /** Set when the provider refused the call as rate limited: how long it asked to wait (undefined: it did not say). */
  readonly rateLimit?: { retryAfterMs?: number };

  constructor(provider: string, status: number, message: string, outcome?: CallOutcome, rateLimit?: { retryAfterMs?: number }) {
    super(`${provider}: ${status === 0 ? "request failed" : `HTTP ${status}`}: ${message}`);
    this.name = "ProviderError";
    this.provider = provider;
    this.status = status;
    this.retryable = status === 0 || RETRYABLE_STATUSES.has(status);
    this.outcome = outcome ?? (status === 0 || status >= 500 ? "unknown" : "not-done");
    if (rateLimit) this.rateLimit = rateLimit;
  }
}

/**
 * Set (to true) around a tool call whose caller waits out provider rate limits itself: a worker,
 * whose wait every other worker shares (src/engine/limits.ts). A rate-limited answer then fails the
 * call at once with ProviderError.rateLimit instead of sleeping here, where nobody else would know.
 * An async context rather than an option, because every provider builds its own clients.
 */
export const rateLimitsToCaller = new AsyncLocalStorage<boolean>();

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}

/** True when a failed call may still have taken effect (5xx, timeout, dropped connection). */
export function mayHaveHappened(error: unknown): boolean {
  return isProviderError(error) && error.outcome === "unknown";
}

/** Network errors raised before a request was sent: the provider never saw it. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

function notSent(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === "string" && NOT_SENT.has(cause.code);
}


/** A JSON-over-HTTP client with auth, retries on 423/429/5xx honouring `retry-after`, and scrubbed errors. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const secrets = [...(options.secrets ?? []), ...authSecrets(options.auth)];
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.auth) headers.authorization = authHeader(options.auth);
  const retry = {
    maxAttempts: options.retry?.maxAttempts ?? 5,
    baseDelayMs: options.retry?.baseDelayMs ?? 500,
    maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
    maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 60_000,
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const fail = (status: number, message: string, outcome?: CallOutcome, rateLimit?: { retryAfterMs?: number }): ProviderError =>
    new ProviderError(options.provider, status, maskSecrets(message, secrets), outcome, rateLimit);

  async function request<T>(path: string, req: RequestOptions = {}): Promise<HttpResponse<T>> {
    const method = req.method ?? "GET";
    const url = buildUrl(options.baseUrl, path, req.query);
    const init: RequestInit = { method, headers: { ...headers } };
    if (req.body !== undefined) {
      init.body = JSON.stringify(req.body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const attempts = req.retry === false ? 1 : retry.maxAttempts;
    const idempotent = req.idempotent ?? (method === "GET" || method === "PUT" || method === "DELETE");
    const callTimeoutMs = req.timeoutMs ?? timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(callTimeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await fetch(url, { ...init, signal });
      } catch (error) {
        if (req.signal?.aborted) throw fail(0, `${method} ${path} aborted`);
        const reason = timeout.aborted ? `timed out after ${callTimeoutMs} ms` : errorText(error);
        const outcome: CallOutcome = !timeout.aborted && notSent(error) ? "not-done" : "unknown";
        if ((idempotent || outcome === "not-done") && attempt < attempts) {
          await sleep(backoffDelay(attempt, retry.baseDelayMs, retry.maxDelayMs), undefined, { signal: req.signal });
          continue;
        }
        throw fail(0, `${method} ${path}: ${reason}`, outcome);
      }
      // A body cut off mid-way is as uncertain as a timeout: the call reached the provider.
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        if (req.signal?.aborted) throw fail(0, `${method} ${path} aborted`);
        const reason = timeout.aborted ? `timed out after ${callTimeoutMs} ms` : errorText(error);
        if (idempotent && attempt < attempts) {
          await sleep(backoffDelay(attempt, retry.baseDelayMs, retry.maxDelayMs), undefined, { signal: req.signal });
          continue;
        }
        throw fail(0, `${method} ${path}: ${reason}`, "unknown");
      }
      if (response.ok) return { status: response.status, data: parseBody(text) as T, headers: response.headers };
      const providerText = providerMessage(text, response.statusText);
      const message = `${method} ${path}: ${providerText}`;
      const limited = options.rateLimit?.({ status: response.status, headers: response.headers, message: providerText, attempt });
      // 423 and 429 mean "not done, try later" even for a create; a 5xx may hide a success.
      const repeatable = limited !== undefined || response.status === 423 || response.status === 429 || (idempotent && RETRYABLE_STATUSES.has(response.status));
      const outcome: CallOutcome | undefined = limited !== undefined ? "not-done" : undefined;
      const waitMs = limited?.waitMs ?? parseRetryAfter(response.headers.get("retry-after"));
      const rateLimit = limited !== undefined || response.status === 429 ? { ...(waitMs !== undefined ? { retryAfterMs: waitMs } : {}) } : undefined;
      if (!repeatable || attempt >= attempts) throw fail(response.status, message, outcome, rateLimit);
      if (rateLimit && rateLimitsToCaller.getStore() === true) {
        throw fail(response.status, `${message} (rate limited${waitMs !== undefined ? `, retry after ${Math.ceil(waitMs)} ms` : ""}; the caller waits)`, "not-done", rateLimit);
      }
      if (waitMs !== undefined && waitMs > retry.maxRetryAfterMs) {
        const why = limited ? `rate limited for ${Math.ceil(waitMs / 1000)} s, longer than the ${retry.maxRetryAfterMs} ms limit` : `retry-after ${Math.ceil(waitMs / 1000)} s exceeds the limit`;
        throw fail(response.status, `${message} (${why})`, outcome, rateLimit);
      }
      await sleep(waitMs ?? backoffDelay(attempt, retry.baseDelayMs, retry.maxDelayMs), undefined, { signal: req.signal });
    }
  }

  return { request };
}

function authHeader(auth: HttpAuth): string {
  if (auth.type === "bearer") return `${auth.scheme ?? "Bearer"} ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
}

function authSecrets(auth: HttpAuth | undefined): string[] {
  if (!auth) return [];
  if (auth.type === "bearer") return [auth.token];
  return [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString("base64")];
}

function buildUrl(baseUrl: string, path: string, query: RequestOptions["query"]): string {
  const url = new URL(baseUrl.replace(/\/+$/, "") + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** `retry-after` in seconds or as an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The provider's own error message from a JSON or text body. */
function providerMessage(text: string, statusText: string): string {
  const body = parseBody(text);
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    const errors = Array.isArray(record.errors) ? (record.errors[0] as Record<string, unknown> | undefined) : undefined;
    for (const candidate of [record.message, record.error, errors?.message, (record.error as Record<string, unknown>)?.message]) {
      if (typeof candidate === "string" && candidate !== "") return candidate;
    }
  }
  if (typeof body === "string" && body.trim() !== "") return body.trim().slice(0, 500);
  return statusText || "no message";
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

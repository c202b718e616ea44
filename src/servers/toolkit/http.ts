import { setTimeout as sleep } from "node:timers/promises";

/** How a cloud client authenticates. */
export type HttpAuth = { type: "bearer"; token: string } | { type: "basic"; username: string; password: string };

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
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** `false` disables retries (for calls that are unsafe to repeat). */
  retry?: boolean;
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

/** A failed provider call: the provider's HTTP status (0 for network errors) and message, secrets removed. */
export class ProviderError extends Error {
  readonly code = "PROVIDER_ERROR";
  readonly provider: string;
  readonly status: number;
  readonly retryable: boolean;

  constructor(provider: string, status: number, message: string) {
    super(`${provider}: ${status === 0 ? "request failed" : `HTTP ${status}`}: ${message}`);
    this.name = "ProviderError";
    this.provider = provider;
    this.status = status;
    this.retryable = status === 0 || RETRYABLE_STATUSES.has(status);
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}

const CREDENTIAL_URL = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/@]+)@/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const SECRET_FIELD = /("(?:password|token|api_key|apiKey|secret|rest_token|read_only_rest_token)"\s*:\s*)"[^"]*"/gi;

/** Removes the given secrets, credentials in URLs, auth headers and secret JSON fields from a text. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out
    .replace(CREDENTIAL_URL, "$1$2:[redacted]@")
    .replace(BEARER, "$1 [redacted]")
    .replace(SECRET_FIELD, '$1"[redacted]"');
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
  const fail = (status: number, message: string): ProviderError =>
    new ProviderError(options.provider, status, scrubSecrets(message, secrets));

  async function request<T>(path: string, req: RequestOptions = {}): Promise<HttpResponse<T>> {
    const method = req.method ?? "GET";
    const url = buildUrl(options.baseUrl, path, req.query);
    const init: RequestInit = { method, headers: { ...headers } };
    if (req.body !== undefined) {
      init.body = JSON.stringify(req.body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const attempts = req.retry === false ? 1 : retry.maxAttempts;
    const safeToRepeat = method === "GET" || method === "DELETE";
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await fetch(url, { ...init, signal });
      } catch (error) {
        if (req.signal?.aborted) throw fail(0, `${method} ${path} aborted`);
        const reason = timeout.aborted ? `timed out after ${timeoutMs} ms` : errorText(error);
        if (safeToRepeat && attempt < attempts) {
          await sleep(backoff(attempt, retry), undefined, { signal: req.signal });
          continue;
        }
        throw fail(0, `${method} ${path}: ${reason}`);
      }
      const text = await response.text();
      if (response.ok) return { status: response.status, data: parseBody(text) as T, headers: response.headers };
      const message = `${method} ${path}: ${providerMessage(text, response.statusText)}`;
      if (!RETRYABLE_STATUSES.has(response.status) || attempt >= attempts) throw fail(response.status, message);
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
      if (retryAfter !== undefined && retryAfter > retry.maxRetryAfterMs) {
        throw fail(response.status, `${message} (retry-after ${Math.ceil(retryAfter / 1000)} s exceeds the limit)`);
      }
      await sleep(retryAfter ?? backoff(attempt, retry), undefined, { signal: req.signal });
    }
  }

  return { request };
}

function authHeader(auth: HttpAuth): string {
  if (auth.type === "bearer") return `Bearer ${auth.token}`;
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

/** Exponential backoff with jitter: between half and all of base·2^(attempt−1), capped. */
function backoff(attempt: number, retry: Required<RetryOptions>): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
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

import type { Redis } from "ioredis";
import { isToolCallError } from "../mcp/call-errors.ts";
import pLimit from "p-limit";

/**
 * At most so many calls at once; `run` waits for a slot, calls, and gives the slot back. `provider`
 * is the rate-limit account the call reaches (Neon, Vercel, …; see providerOf in src/mcp/tool-meta.ts).
 */
export interface CallLimit {
  run<T>(fn: () => Promise<T>, provider?: string): Promise<T>;
}

/**
 * One limit per MCP server: calls to one server never exceed it. `limit` applies to every server,
 * `perServer` overrides it by name. In one process the slots are p-limit's; a worker holds them in
 * Redis (RedisServerLimits), so the limit holds across every worker on every machine.
 */
export class ServerLimits {
  private readonly limits = new Map<string, CallLimit>();
  /**
   * Whether these limits wait out provider rate limits for every process sharing them: calls then
   * ask servers to hand a rate-limited answer back at once (CallOptions.rateLimitsToCaller) rather
   * than sleep on it where no other worker would know. In one process the server's own wait is as good.
   */
  readonly rateLimitsToCaller: boolean = false;

  constructor(
    readonly limit = 8,
    readonly perServer: Readonly<Record<string, number>> = {},
  ) {
    for (const [name, n] of [["every server", limit], ...Object.entries(perServer)] as const) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`a concurrency limit must be a whole number ≥ 1, got ${n} for ${name}`);
    }
  }

  /** The limit of one server. */
  limitOf(server: string): number {
    return this.perServer[server] ?? this.limit;
  }

  for(server: string): CallLimit {
    let limit = this.limits.get(server);
    if (!limit) {
      limit = this.create(server, this.limitOf(server));
      this.limits.set(server, limit);
    }
    return limit;
  }

  protected create(_server: string, size: number): CallLimit {
    const limit = pLimit(size);
    return { run: (fn) => limit(fn) };
  }
}

export interface RedisLimitOptions {
  /** Key namespace (the queue's): `semaphore:<prefix>:calls:<server>`. */
  prefix: string;
  /** A dead holder's slot frees itself after this long (it is refreshed while held; default 10 s). */
  lockTimeoutMs?: number;
  /** How often a waiting call asks again (default 25 ms). */
  retryIntervalMs?: number;
  /** How long a server or provider is paused after a rate-limit answer that says no `retry-after` (default 1 s). */
  defaultPauseMs?: number;
  /** How often a call refused by its provider as rate limited is made again after the pause (default 4, as the toolkit's own retries). */
  rateLimitRetries?: number;
  /** A provider asking to wait longer than this fails the call (the pause still holds for everyone; default 60 s, as the toolkit). */
  maxRateLimitWaitMs?: number;
}

/**
 * Per-server limits shared by every process on one Redis: each call holds a slot of a
 * redis-semaphore counting semaphore for as long as it runs. The slot is refreshed while held, so
 * a worker killed with its calls in flight frees them after `lockTimeoutMs`. The limits themselves
 * are the queue's (src/worker/queue-limits.ts): every worker uses the first one's.
 *
 * Rate limits pause for every worker, as keys with an expiry that each call waits out before it
 * takes a slot:
 * - a provider's (the toolkit reports which provider refused, and its `retry-after`, in the result's
 *   `_meta`): `<prefix>:paused:<server>:<provider>` pauses that provider's calls only, and the call
 *   is made again once the pause is over (it did not happen: a 429 is "not done");
 * - a server's own (HTTP 429 from a Streamable HTTP server, or an error text saying "rate limit"
 *   with no provider named): `<prefix>:paused:<server>` pauses every call to it; the step's retry
 *   policy decides whether the call is made again.
 */
export class RedisServerLimits extends ServerLimits {
  override readonly rateLimitsToCaller = true;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisLimitOptions,
    limit = 8,
    perServer: Readonly<Record<string, number>> = {},
  ) {
    super(limit, perServer);
  }

  protected override create(server: string, size: number): CallLimit {
    const key = `${this.options.prefix}:calls:${server}`;
    const serverPause = pauseKey(this.options.prefix, server);
    const lockTimeout = this.options.lockTimeoutMs ?? 10_000;
    const defaultPauseMs = this.options.defaultPauseMs ?? 1_000;
    const retries = this.options.rateLimitRetries ?? 4;
    const maxWaitMs = this.options.maxRateLimitWaitMs ?? 60_000;
    const pause = (pauseKeyName: string, ms: number): Promise<unknown> => this.redis.eval(EXTEND_PAUSE, 1, pauseKeyName, String(Math.max(1, Math.ceil(ms)))).catch(() => {});
    return {
      run: async (fn, provider) => {
        const pauses = provider ? [serverPause, pauseKey(this.options.prefix, server, provider)] : [serverPause];
        // Loaded here, not with this module: every run command loads ServerLimits, only a worker uses Redis.
        const { Semaphore } = await import("redis-semaphore");
        for (let limited = 0; ; limited++) {
          await waitOut(this.redis, pauses);
          const semaphore = new Semaphore(this.redis, key, size, {
            lockTimeout,
            refreshInterval: Math.floor(lockTimeout / 3),
            // A call waits for a slot as long as it takes: its own timeout starts once it has one.
            acquireTimeout: 24 * 60 * 60_000,
            retryInterval: this.options.retryIntervalMs ?? 25,
            // A slot lost to a refresh that could not reach Redis: the call goes on; the count may briefly overshoot.
            onLockLost: () => {},
          });
          await semaphore.acquire();
          try {
            return await fn();
          } catch (error) {
            const report = isToolCallError(error) ? error.rateLimit : undefined;
            if (report) {
              const asked = report.retryAfterMs ?? defaultPauseMs;
              // The longest pause wins: a shorter retry-after seen later does not cut it.
              await pause(pauseKey(this.options.prefix, server, report.provider), asked);
              // Made again after the pause (the slot is given back while it lasts).
              if (limited < retries && asked <= maxWaitMs) continue;
              throw error;
            }
            const pauseMs = rateLimitPauseMs(error, defaultPauseMs);
            if (pauseMs !== undefined) await pause(serverPause, pauseMs);
            throw error;
          } finally {
            await semaphore.release().catch(() => {});
          }
        }
      },
    };
  }
}

/** The pause key of a server, or of one provider behind it. */
export function pauseKey(prefix: string, server: string, provider?: string): string {
  return provider ? `${prefix}:paused:${server}:${provider}` : `${prefix}:paused:${server}`;
}

/** Waits until none of the pause keys lives any more (a pause set meanwhile is waited out too). */
async function waitOut(redis: Redis, keys: readonly string[]): Promise<void> {
  for (;;) {
    const left = await Promise.all(keys.map((k) => redis.pttl(k)));
    const ms = Math.max(0, ...left);
    if (ms <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Sets the pause key to expire in ARGV[1] ms unless it already lives longer. */
const EXTEND_PAUSE = `local left = redis.call("PTTL", KEYS[1])
if left < tonumber(ARGV[1]) then redis.call("SET", KEYS[1], "1", "PX", ARGV[1]) end
return 1`;

/** How long a rate-limited call asks everyone to wait: its `retry-after` (seconds) when it says one; undefined when not rate limited. */
export function rateLimitPauseMs(error: unknown, fallbackMs: number): number | undefined {
  if (!isToolCallError(error)) return undefined;
  const limited = error.rpcCode === 429 || /\b429\b|rate[ -]?limit|too many requests/i.test(error.message);
  if (!limited) return undefined;
  const after = /retry[- ]after\D{0,3}(\d+(?:\.\d+)?)\s*(ms|s)?/i.exec(error.message);
  if (!after) return fallbackMs;
  const n = Number(after[1]);
  return after[2]?.toLowerCase() === "ms" ? n : n * 1000;
}

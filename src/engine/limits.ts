import type { Redis } from "ioredis";
import { isToolCallError } from "../mcp/call-errors.ts";
import pLimit from "p-limit";
import { Semaphore } from "redis-semaphore";

/** At most so many calls at once; `run` waits for a slot, calls, and gives the slot back. */
export interface CallLimit {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * One limit per MCP server: calls to one server never exceed it. `limit` applies to every server,
 * `perServer` overrides it by name. In one process the slots are p-limit's; a worker holds them in
 * Redis (RedisServerLimits), so the limit holds across every worker on every machine.
 */
export class ServerLimits {
  private readonly limits = new Map<string, CallLimit>();

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
  /** How long a server is paused after a rate-limit answer that says no `retry-after` (default 1 s). */
  defaultPauseMs?: number;
}

/**
 * Per-server limits shared by every process on one Redis: each call holds a slot of a
 * redis-semaphore counting semaphore for as long as it runs. The slot is refreshed while held, so
 * a worker killed with its calls in flight frees them after `lockTimeoutMs`. Every worker should be
 * started with the same limits: the semaphore admits a call while fewer than *its* limit hold slots.
 *
 * A call that fails as rate limited (HTTP 429, "rate limit", with its `retry-after` when the error
 * says one) pauses its server for every worker: the pause is a key with that expiry
 * (`<prefix>:paused:<server>`), and each call waits it out before it takes a slot.
 */
export class RedisServerLimits extends ServerLimits {
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
    const pauseKey = `${this.options.prefix}:paused:${server}`;
    const lockTimeout = this.options.lockTimeoutMs ?? 10_000;
    const waitOutPause = async (): Promise<void> => {
      for (;;) {
        const ms = await this.redis.pttl(pauseKey);
        if (ms <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
    };
    return {
      run: async (fn) => {
        await waitOutPause();
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
          const pauseMs = rateLimitPauseMs(error, this.options.defaultPauseMs ?? 1_000);
          // The longest pause wins: a shorter retry-after seen later does not cut it.
          if (pauseMs !== undefined) await this.redis.eval(EXTEND_PAUSE, 1, pauseKey, String(Math.ceil(pauseMs))).catch(() => {});
          throw error;
        } finally {
          await semaphore.release().catch(() => {});
        }
      },
    };
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

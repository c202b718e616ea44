import type { Redis } from "ioredis";
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
}

/**
 * Per-server limits shared by every process on one Redis: each call holds a slot of a
 * redis-semaphore counting semaphore for as long as it runs. The slot is refreshed while held, so
 * a worker killed with its calls in flight frees them after `lockTimeoutMs`. Every worker should be
 * started with the same limits: the semaphore admits a call while fewer than *its* limit hold slots.
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
    const lockTimeout = this.options.lockTimeoutMs ?? 10_000;
    return {
      run: async (fn) => {
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
        } finally {
          await semaphore.release().catch(() => {});
        }
      },
    };
  }
}

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { rateLimitPauseMs, RedisServerLimits, ServerLimits } from "../../src/engine/limits.ts";
import { ToolCallError } from "../../src/mcp/call-errors.ts";
import { loadConfig } from "../../src/config.ts";
import { claimQueueLimits, limitsKey, readQueueLimits } from "../../src/worker/queue-limits.ts";
import { openRunQueue, parseQueueUrl } from "../../src/worker/queue.ts";
import { runMain } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const connections: Redis[] = [];
function connect(): Redis {
  const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: null });
  connections.push(redis);
  return redis;
}

afterAll(() => {
  for (const c of connections) c.disconnect();
});

/** A call that records how many calls (of every limiter given the same counter) run with it. */
function probe(counter: { now: number; peak: number; starts: number[] }, ms: number) {
  return async (): Promise<void> => {
    counter.now += 1;
    counter.starts.push(Date.now());
    counter.peak = Math.max(counter.peak, counter.now);
    await new Promise((r) => setTimeout(r, ms));
    counter.now -= 1;
  };
}

describe("per-server limits across workers (Redis)", () => {
  it("two workers' limiters on one Redis never run more than the server's limit together; another server has its own", async () => {
    const prefix = `credit-optimizer:limits-${randomUUID()}`;
    const a = new RedisServerLimits(connect(), { prefix }, 8, { infra: 2 });
    const b = new RedisServerLimits(connect(), { prefix }, 8, { infra: 2 });
    const infra = { now: 0, peak: 0, starts: [] as number[] };
    const other = { now: 0, peak: 0, starts: [] as number[] };
    await Promise.all([
      ...Array.from({ length: 6 }, () => a.for("infra").run(probe(infra, 60))),
      ...Array.from({ length: 6 }, () => b.for("infra").run(probe(infra, 60))),
      ...Array.from({ length: 4 }, () => b.for("other").run(probe(other, 60))),
    ]);
    expect(infra.starts).toHaveLength(12);
    expect(infra.peak).toBe(2);
    // The other server's limit (8) let all four of its calls run together.
    expect(other.peak).toBe(4);
  });

  it("one process's limits are p-limit's: the limit, per server", async () => {
    const limits = new ServerLimits(3, { small: 1 });
    const big = { now: 0, peak: 0, starts: [] as number[] };
    const small = { now: 0, peak: 0, starts: [] as number[] };
    await Promise.all([...Array.from({ length: 7 }, () => limits.for("big").run(probe(big, 20))), ...Array.from({ length: 3 }, () => limits.for("small").run(probe(small, 20)))]);
    expect([big.peak, small.peak]).toEqual([3, 1]);
    expect(() => new ServerLimits(0)).toThrow(/whole number ≥ 1, got 0 for every server/);
  });

  it("a 429 with retry-after seen by one worker pauses that server for the others until then", async () => {
    const prefix = `credit-optimizer:limits-${randomUUID()}`;
    const first = new RedisServerLimits(connect(), { prefix });
    const second = new RedisServerLimits(connect(), { prefix });
    const limited = new ToolCallError("TOOL_ERROR", "toolkit.neon_create_project: POST /projects: 429 Too Many Requests (retry-after 1.5)", true);
    // Taken before the 429: the pause starts after it, so the wait is at least the pause from here.
    const seenAt = Date.now();
    await expect(first.for("toolkit").run(() => Promise.reject(limited))).rejects.toBe(limited);
    let calledAt = 0;
    let otherAt = 0;
    await Promise.all([second.for("toolkit").run(async () => void (calledAt = Date.now())), second.for("workspace").run(async () => void (otherAt = Date.now()))]);
    // The call on the paused server started only once the pause (1.5 s from the 429) had passed; another server was not paused.
    expect(calledAt - seenAt).toBeGreaterThanOrEqual(1_499); // Date.now() counts whole milliseconds
    expect(otherAt - seenAt).toBeLessThan(calledAt - seenAt);
  });

  it("reads the pause from what a rate-limited call says", () => {
    expect(rateLimitPauseMs(new ToolCallError("TRANSPORT", "x.y: Error POSTing to endpoint (HTTP 429)", true, 429), 1000)).toBe(1000);
    expect(rateLimitPauseMs(new ToolCallError("TOOL_ERROR", "rate limited, retry after 250ms", true), 1000)).toBe(250);
    expect(rateLimitPauseMs(new ToolCallError("TOOL_ERROR", "429: Retry-After: 3", true), 1000)).toBe(3000);
    expect(rateLimitPauseMs(new ToolCallError("TOOL_ERROR", "503 service unavailable", true), 1000)).toBeUndefined();
    expect(rateLimitPauseMs(new Error("429"), 1000)).toBeUndefined();
  });

  it("the first worker's limits are the queue's (a Redis hash beside it); a later worker takes them, or is refused when started with others", async () => {
    const name = `limits-${randomUUID()}`;
    const queue = await openRunQueue(parseQueueUrl(`redis://127.0.0.1:6379?queue=${name}`));
    try {
      expect(await readQueueLimits(queue)).toBeUndefined();
      // Two workers starting together: one stores its limits, and both end with the same ones.
      const [x, y] = await Promise.all([claimQueueLimits(queue, { limit: 3, perServer: { toolkit: 1 } }, "w1"), claimQueueLimits(queue, undefined, "w2")]);
      expect(x).toEqual(y);
      expect(x).toMatchObject({ limit: 3, perServer: { toolkit: 1 }, setBy: "w1" });
      expect(await queue.redis.hgetall(limitsKey(queue))).toMatchObject({ limit: "3", "server:toolkit": "1", setBy: "w1" });
      // Started with the same limits: fine.
      await expect(claimQueueLimits(queue, { limit: 3, perServer: { toolkit: 1 } }, "w3")).resolves.toMatchObject({ limit: 3 });
      // Started with others: refused, naming both and the hash.
      await expect(claimQueueLimits(queue, { limit: 8, perServer: {} }, "w4")).rejects.toThrow(
        new RegExp(`--server-limit 8 differs from queue "${name}"'s limits, 3, toolkit=1 \\(set by worker w1 at .+\\), kept in the Redis hash credit-optimizer:${name}:limits`),
      );

      // The worker command says so and exits 2 before it opens anything else.
      const config = loadConfig({ CREDIT_OPTIMIZER_HOME: tempDir("co-limits-") });
      const refused = await runMain(
        ["worker", "--queue", `redis://127.0.0.1:6379?queue=${name}`, "--server-limit", "5", "--checkpointer", "postgres://postgres@127.0.0.1:5432/postgres", "--name", "w5"],
        config,
      );
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`--server-limit 5 differs from queue "${name}"'s limits, 3, toolkit=1`);
      expect(refused.stderr).toContain(`redis-cli DEL credit-optimizer:${name}:limits`);
      // The queue's limits are unchanged by the refused worker.
      expect(await readQueueLimits(queue)).toMatchObject({ limit: 3, perServer: { toolkit: 1 }, setBy: "w1" });
    } finally {
      await queue.redis.del(limitsKey(queue));
      await queue.queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
  });
});

import type { RunQueue } from "./queue.ts";

/** Calls at once per MCP server across every worker of a queue: `limit` for each, `perServer` by name. */
export interface QueueLimits {
  limit: number;
  perServer: Record<string, number>;
}

/** What a worker is started with when `--server-limit` is not given (and the queue has no limits yet). */
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { limit: 8, perServer: {} };

/** The queue's limits and who set them (the first worker that started on it). */
export interface StoredQueueLimits extends QueueLimits {
  setBy?: string;
  setAt?: string;
}

/** A worker started with limits other than the queue's (exit 2: it did not start). */
export class QueueLimitsMismatchError extends Error {
  readonly code = "INVALID_ARGS";
  constructor(message: string) {
    super(message);
    this.name = "QueueLimitsMismatchError";
  }
}

/** The Redis hash beside the queue that holds its limits: `<prefix>:<queue>:limits`. */
export function limitsKey(queue: RunQueue): string {
  return queue.key("limits");
}

/**
 * Writes the hash from ARGV (field, value, …) unless it exists; returns what the hash then holds.
 * One script, so two workers starting together cannot both write theirs.
 */
const CLAIM = `if redis.call("EXISTS", KEYS[1]) == 0 then redis.call("HSET", KEYS[1], unpack(ARGV)) end
return redis.call("HGETALL", KEYS[1])`;

/**
 * The queue's limits, which every worker uses: the limits are a Redis semaphore that admits a call
 * while fewer than *the admitting worker's* limit hold slots, so workers with different limits would
 * together exceed the smaller one. The first worker on a queue stores its limits (`wanted`, else the
 * defaults); a later one without `--server-limit` takes the queue's. A later one started with other
 * limits is refused rather than warned: it would silently not get what it asked for, and mixing them
 * breaks the limit for everyone.
 */
export async function claimQueueLimits(queue: RunQueue, wanted: QueueLimits | undefined, worker: string): Promise<StoredQueueLimits> {
  const mine = wanted ?? DEFAULT_QUEUE_LIMITS;
  const fields = ["limit", String(mine.limit), "setBy", worker, "setAt", new Date().toISOString()];
  for (const [server, n] of Object.entries(mine.perServer)) fields.push(`server:${server}`, String(n));
  const flat = (await queue.redis.eval(CLAIM, 1, limitsKey(queue), ...fields)) as string[];
  const stored = parseStored(flat);
  if (wanted && !sameLimits(wanted, stored)) {
    const key = limitsKey(queue);
    const by = stored.setBy ? ` (set by worker ${stored.setBy}${stored.setAt ? ` at ${stored.setAt}` : ""})` : "";
    throw new QueueLimitsMismatchError(
      `--server-limit ${describeLimits(wanted)} differs from queue "${queue.target.name}"'s limits, ${describeLimits(stored)}${by}, kept in the Redis hash ${key}. ` +
        `Every worker of a queue uses its limits, so they hold across all workers: start this worker without --server-limit to use them, ` +
        `or, to change them, stop every worker of the queue, delete the hash (redis-cli DEL ${key}) and start the first worker with the new limits.`,
    );
  }
  return stored;
}

/** `8` or `8, toolkit=2`. */
export function describeLimits(limits: QueueLimits): string {
  const per = Object.entries(limits.perServer)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([server, n]) => `${server}=${n}`);
  return [String(limits.limit), ...per].join(", ");
}

/** The queue's limits without touching them (for `runs`); undefined when no worker has started on it. */
export async function readQueueLimits(queue: RunQueue): Promise<StoredQueueLimits | undefined> {
  const flat = await queue.redis.hgetall(limitsKey(queue));
  if (Object.keys(flat).length === 0) return undefined;
  return parseStored(Object.entries(flat).flat());
}

function parseStored(flat: readonly string[]): StoredQueueLimits {
  const stored: StoredQueueLimits = { limit: DEFAULT_QUEUE_LIMITS.limit, perServer: {} };
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i]!;
    const value = flat[i + 1]!;
    if (field === "limit") stored.limit = Number(value);
    else if (field === "setBy") stored.setBy = value;
    else if (field === "setAt") stored.setAt = value;
    else if (field.startsWith("server:")) stored.perServer[field.slice("server:".length)] = Number(value);
  }
  return stored;
}

function sameLimits(a: QueueLimits, b: QueueLimits): boolean {
  return describeLimits(a) === describeLimits(b);
}

import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { ApprovalAnswer } from "../../agents/types.ts";
import type { Report } from "../../agents/types.ts";
import type { StepEvent } from "../engine/step-event.ts";
import type { RunInput, RunQuestion } from "../run/drive.ts";
import { maskSecrets } from "../secrets.ts";

/** Where the run queue lives: a Redis server, and the queue's name on it. */
export interface QueueTarget {
  /** The Redis URL without the `queue` parameter (may hold a password: never print it). */
  redisUrl: string;
  /** The BullMQ queue name (default `runs`). */
  name: string;
  /** BullMQ's key prefix; every key of this queue, the call limits included, starts with `<prefix>:<name>:`. */
  prefix: string;
  /** The URL as it may be shown (password masked). */
  display: string;
}

export const QUEUE_PREFIX = "credit-optimizer";

/** A queue URL that cannot be used (exit 2). */
export class QueueError extends Error {
  readonly code = "INVALID_ARGS";
  constructor(message: string) {
    super(message);
    this.name = "QueueError";
  }
}

/** `redis://[user:password@]HOST:PORT[/DB][?queue=NAME]` (or `rediss://`); a bad one names what is wrong. */
export function parseQueueUrl(text: string): QueueTarget {
  const shown = maskSecrets(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new QueueError(`--queue: "${shown}" is not a URL; expected redis://HOST:PORT (e.g. redis://127.0.0.1:6379)`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new QueueError(`--queue: "${shown}" is not a Redis URL; expected redis://HOST:PORT or rediss://HOST:PORT`);
  if (url.hostname === "") throw new QueueError(`--queue: "${shown}" has no host; expected redis://HOST:PORT`);
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d+$/.test(url.pathname)) throw new QueueError(`--queue: "${shown}": the path must be a database number (redis://HOST:PORT/0)`);
  const name = url.searchParams.get("queue") ?? "runs";
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new QueueError(`--queue: queue name "${name}" may hold only letters, digits, ".", "_" and "-"`);
  url.searchParams.delete("queue");
  const redisUrl = url.toString();
  return { redisUrl, name, prefix: QUEUE_PREFIX, display: maskSecrets(redisUrl) };
}

/** What a job holds: the thread and what to do on it. Never secret values: the input holds handles. */
export type RunJobData =
  | { kind: "start"; threadId: string; input: RunInput; submittedAt: string }
  | { kind: "resume"; threadId: string; answer?: ApprovalAnswer; submittedAt: string };

/** What a job ended with: the run finished (its report), or it waits for an answer and freed its worker. */
export type RunJobResult =
  | { kind: "finished"; report: Report; worker: string; recalls: string[] }
  | { kind: "waiting"; question: RunQuestion; worker: string; recalls: string[] };

/** What a worker publishes while it drives a run (BullMQ progress events), for `--wait` to show. */
export type RunProgress = { type: "planned"; state: unknown } | { type: "event"; event: StepEvent };

/** Jobs end here; each is kept a week (`runs` lists them), then BullMQ drops it. */
export const JOB_OPTIONS: JobsOptions = {
  // A transient failure (the checkpointer unreachable) is tried again from the checkpoint.
  attempts: 5,
  backoff: { type: "exponential", delay: 2_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** The job name of every run (BullMQ names are for people; the id is the thread). */
export const JOB_NAME = "run";

/** BullMQ's connection options (it opens and closes its own connections from them). */
export function bullConnection(target: QueueTarget): ConnectionOptions {
  return { url: target.redisUrl, maxRetriesPerRequest: null, connectTimeout: 5_000 };
}

/** A plain connection for this queue's own keys (limits, step tracking), or throws naming the server it could not reach. */
export async function connectRedis(target: QueueTarget, extra: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(target.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 5_000, lazyConnect: true, retryStrategy: (times) => Math.min(times * 200, 2_000), ...extra });
  redis.on("error", () => {});
  try {
    await connectOnce(target);
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/** One try to reach Redis, so that a wrong host or port is an error now, not a silent retry forever. */
async function connectOnce(target: QueueTarget): Promise<void> {
  const probe = new Redis(target.redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5_000, enableOfflineQueue: false });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const reason = maskSecrets(error instanceof Error ? error.message : String(error));
    throw new QueueUnreachableError(`cannot reach the run queue's Redis at ${target.display}: ${reason}. Is Redis running there, and is the URL right (--queue or CREDIT_OPTIMIZER_QUEUE)?`);
  } finally {
    probe.disconnect();
  }
}

/** Redis did not answer (exit 1: nothing was queued, nothing is lost). */
export class QueueUnreachableError extends Error {
  readonly code = "QUEUE_UNREACHABLE";
  constructor(message: string) {
    super(message);
    this.name = "QueueUnreachableError";
  }
}

/** The queue of runs on one Redis, with a connection for the queue's own keys. */
export interface RunQueue {
  target: QueueTarget;
  queue: Queue<RunJobData, RunJobResult>;
  redis: Redis;
  /** A key of this queue's namespace. */
  key(...parts: string[]): string;
  close(): Promise<void>;
}

export async function openRunQueue(target: QueueTarget): Promise<RunQueue> {
  const redis = await connectRedis(target);
  const queue = new Queue<RunJobData, RunJobResult>(target.name, { connection: bullConnection(target), prefix: target.prefix, defaultJobOptions: JOB_OPTIONS });
  queue.on("error", () => {});
  await queue.waitUntilReady();
  return {
    target,
    queue,
    redis,
    key: (...parts) => [target.prefix, target.name, ...parts].join(":"),
    async close() {
      await queue.close().catch(() => {});
      redis.disconnect();
    },
  };
}

/** The key of a run's steps in flight: step id → the worker calling it (for counting re-calls after a failover). */
export function inFlightKey(queue: RunQueue, threadId: string): string {
  return queue.key("in-flight", threadId);
}

import { DelayedError, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { AppConfig } from "../config.ts";
import { RedisServerLimits } from "../engine/limits.ts";
import type { StepEvent } from "../engine/step-event.ts";
import { isThreadBusyError } from "../engine/thread-lock.ts";
import { postgresUrl } from "../pg-url.ts";
import { drive, resume, type DriveResult, type RunClient } from "../run/drive.ts";
import { openRoot, type Root } from "../run/root.ts";
import { maskSecrets } from "../secrets.ts";
import { claimQueueLimits, describeLimits, limitsKey, type QueueLimits, type StoredQueueLimits } from "./queue-limits.ts";
import { bullConnection, inFlightKey, openRunQueue, type QueueTarget, type RunJobData, type RunJobResult, type RunProgress, type RunQueue } from "./queue.ts";

export interface WorkerOptions {
  target: QueueTarget;
  /** This worker's name (BullMQ's `processedBy`; `runs` shows it). */
  name: string;
  /** Runs at once on this worker. */
  concurrency: number;
  /**
   * Calls at once per MCP server across every worker (`--server-limit`). The queue's limits win
   * (src/worker/queue-limits.ts): undefined takes them; others than the queue's refuse to start.
   */
  limits?: QueueLimits;
  /** On SIGTERM, how long held runs may go on before they are handed back to the queue. */
  graceMs: number;
  /** BullMQ's job lock: a worker that stops renewing it (killed, its machine lost) loses its runs after about this long, twice. */
  lockMs: number;
  checkpointer?: string;
  mcpConfigPath?: string;
  log(line: string): void;
}

/** A worker starts on Postgres only (exit 2). */
export class WorkerSetupError extends Error {
  readonly code = "INVALID_ARGS";
  constructor(message: string) {
    super(message);
    this.name = "WorkerSetupError";
  }
}

export interface RunWorker {
  name: string;
  /**
   * Takes no new run; waits up to `graceMs` for the runs it holds. Resolves `true` when they
   * finished and everything is closed; `false` when some were handed back to the queue: the
   * process should then exit at once (their steps in flight are called again by the next worker).
   */
  stop(): Promise<boolean>;
}

/**
 * A long-running worker: one root (checkpointer, ledger, MCP servers kept between runs) drives each
 * job of the queue through the one pipeline. A job is a thread: a new run, the continuation after an
 * answer, or, when BullMQ's stalled-job check hands over a dead worker's run, the rest of it from
 * the Postgres checkpoint (finished steps are not called again).
 */
export async function startWorker(config: AppConfig, options: WorkerOptions): Promise<RunWorker> {
  const checkpointer = options.checkpointer ?? config.databaseUrl;
  if (!postgresUrl(checkpointer)) {
    throw new WorkerSetupError(
      `a worker needs the Postgres checkpointer (its runs move between machines; ${checkpointer ? `"${maskSecrets(checkpointer)}"` : "the default SQLite file"} stays on this one): set DATABASE_URL=postgres://… or --checkpointer postgres://…`,
    );
  }
  const queue = await openRunQueue(options.target);
  let root: Root | undefined;
  let queueLimits: StoredQueueLimits;
  try {
    queueLimits = await claimQueueLimits(queue, options.limits, options.name);
    const limits = new RedisServerLimits(queue.redis, { prefix: queue.key() }, queueLimits.limit, queueLimits.perServer);
    root = await openRootRacing(() => openRoot(config, { checkpointer, mcpConfigPath: options.mcpConfigPath, limits }));
    // The servers start now, once: a broken MCP config stops the worker before it takes a run.
    await root.context();
  } catch (error) {
    await root?.close().catch(() => {});
    await queue.close();
    throw error;
  }
  const opened = root;
  const held = new Map<string, { job: Job<RunJobData, RunJobResult>; token: string }>();
  const worker = new Worker<RunJobData, RunJobResult>(
    options.target.name,
    async (job, token) => {
      const threadId = job.id!;
      held.set(threadId, { job, token: token! });
      try {
        return await processJob(opened, queue, job, token!, options);
      } finally {
        held.delete(threadId);
      }
    },
    {
      connection: bullConnection(options.target),
      prefix: options.target.prefix,
      name: options.name,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      // Every hand-over resumes from the checkpoint: a run may change hands more than once.
      maxStalledCount: 10,
      autorun: false,
    },
  );
  worker.on("error", (error) => options.log(`worker ${options.name}: ${maskSecrets(error.message)}`));
  worker.on("failed", (job, error) => options.log(`${job?.id ?? "?"}: failed on ${options.name}: ${maskSecrets(error.message)}`));
  await worker.waitUntilReady();
  void worker.run().catch((error: unknown) => options.log(`worker ${options.name} stopped: ${maskSecrets(String(error))}`));
  options.log(`worker ${options.name} on ${options.target.display} queue "${options.target.name}": ${options.concurrency} run(s) at once, calls per MCP server across all workers ${describeLimits(queueLimits)} (the queue's, in ${limitsKey(queue)})`);

  return {
    name: options.name,
    async stop() {
      options.log(`worker ${options.name}: stopping, no new runs${held.size > 0 ? `; ${held.size} held run(s) have ${options.graceMs} ms to finish` : ""}`);
      const closing = worker.close();
      const finished = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), options.graceMs).unref())]);
      if (!finished) {
        for (const [threadId, { job, token }] of held) {
          await job.moveToWait(token).catch((error: unknown) => options.log(`${threadId}: could not hand back (${maskSecrets(String(error))}); the stalled-job check will`));
          options.log(`${threadId}: handed back to the queue; another worker resumes it from the checkpoint`);
        }
        return false;
      }
      await opened.close();
      await queue.close();
      return true;
    },
  };
}

/** Drives one job: the run it starts, the answer it carries, or what a dead worker left. */
async function processJob(root: Root, queue: RunQueue, job: Job<RunJobData, RunJobResult>, token: string, options: WorkerOptions): Promise<RunJobResult> {
  const data = job.data;
  const threadId = job.id!;
  if (data.threadId !== threadId) throw new UnrecoverableError(`job ${threadId} names thread "${data.threadId}": a job's id is its thread`);
  const tracker = new InFlight(queue.redis, inFlightKey(queue, threadId), options.name);
  const client: RunClient = {
    worker: options.name,
    onEvent: (event) => {
      tracker.onEvent(event);
      void job.updateProgress({ type: "event", event } satisfies RunProgress).catch(() => {});
    },
    onPlanned: (state) => void job.updateProgress({ type: "planned", state } satisfies RunProgress).catch(() => {}),
  };
  const handedOver = job.attemptsStarted > 1 || job.stalledCounter > 0;
  options.log(`${threadId}: ${data.kind === "start" ? (handedOver ? "resuming (handed over)" : "starting") : data.answer ? `resuming with ${data.answer.approved ? "approval" : "rejection"}` : "resuming"} on ${options.name}`);
  let result: DriveResult;
  try {
    // The submitter stored the input's secrets in the shared store after this worker opened it.
    await (await root.context()).secrets?.refresh();
    // A run handed over while its old worker still holds it (a false stall on a busy machine): wait for it.
    await (await root.lock(threadId)).release();
    result = await run(root, data, threadId, client);
  } catch (error) {
    await tracker.flush();
    if (isThreadBusyError(error)) {
      // Another worker still holds the thread (a hand-over before the old one noticed): try again shortly.
      await job.moveToDelayed(Date.now() + 1_000, token);
      throw new DelayedError();
    }
    const message = maskSecrets(error instanceof Error ? error.message : String(error));
    const code = (error as { code?: unknown }).code;
    if (code === "THREAD") throw new UnrecoverableError(`THREAD: ${message}`);
    throw new Error(message);
  }
  await tracker.flush();
  if (result.kind === "finished") await queue.redis.del(inFlightKey(queue, threadId)).catch(() => {});
  const recalls = tracker.recalls;
  const summary = result.kind === "waiting" ? "waiting for approval (worker freed)" : `${result.report.outcome}${result.report.status ? ` ${result.report.status}` : ""}`;
  options.log(`${threadId}: ${summary}${recalls.length > 0 ? `; called again after the hand-over: ${recalls.join(", ")}` : ""}`);
  return result.kind === "finished"
    ? { kind: "finished", report: result.report, worker: options.name, recalls }
    : { kind: "waiting", question: result.question, worker: options.name, recalls };
}

async function run(root: Root, data: RunJobData, threadId: string, client: RunClient): Promise<DriveResult> {
  if (data.kind === "resume") return resume(root, threadId, client, data.answer);
  // A start job seen again (its worker died, or an attempt failed) goes on from the thread's
  // checkpoint; one whose first attempt saved only its input (nothing to go on from) starts again.
  if (!(await hasStarted(root, threadId))) return drive(root, threadId, data.input, client);
  try {
    return await resume(root, threadId, client);
  } catch (error) {
    // Read while another worker was between checkpoints of it: drive takes the thread's lock (busy: tried again shortly).
    if ((error as { code?: unknown }).code === "THREAD") return drive(root, threadId, null, client);
    throw error;
  }
}

/** Whether a thread has anything to go on from: a step to run next, a question, or a report. */
async function hasStarted(root: Root, threadId: string): Promise<boolean> {
  const config = { configurable: { thread_id: threadId } };
  const tuple = await root.checkpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  if (!tuple) return false;
  const snapshot = await root.graph().getState(config);
  const values = snapshot.values as { report?: unknown; status?: string };
  return snapshot.next.length > 0 || snapshot.tasks.some((t) => t.interrupts.length > 0) || values.report !== undefined || values.status === "cancelled";
}

/**
 * Which steps of a run are in flight, in Redis (step → worker): a step that starts while an earlier
 * worker's entry is still there was in flight when that worker died, and its result was not saved:
 * it is called again, and counted.
 */
class InFlight {
  readonly recalls: string[] = [];
  private readonly pending: Promise<unknown>[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly worker: string,
  ) {}

  onEvent(event: StepEvent): void {
    if (event.type === "step_started") {
      const id = event.id;
      this.pending.push(
        this.redis
          .multi()
          .hget(this.key, id)
          .hset(this.key, id, this.worker)
          .exec()
          .then((replies) => {
            if (replies?.[0]?.[1]) this.recalls.push(id);
          })
          .catch(() => {}),
      );
    }
    // A held step was not called: only a call in flight counts.
    if (event.type === "step_finished") this.pending.push(this.redis.hdel(this.key, event.result.id).catch(() => {}));
  }

  async flush(): Promise<void> {
    await Promise.all(this.pending);
  }
}

/**
 * Workers started together on a new database race to create its tables; Postgres refuses the losers'
 * `CREATE TABLE IF NOT EXISTS` with a unique violation (23505) on its catalog, "relation already exists"
 * (42P07) or "type already exists" (42710). The tables exist then: open again.
 */
async function openRootRacing(open: () => Promise<Root>): Promise<Root> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const racing = ["23505", "42P07", "42710"].includes(String(code)) || /duplicate key value violates unique constraint|(relation|type) "[^"]+" already exists/.test(String((error as Error).message));
      if (!racing || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

import { QueueEvents, type Job } from "bullmq";
import { bullConnection, JOB_NAME, QueueError, type RunJobData, type RunJobResult, type RunProgress, type RunQueue } from "./queue.ts";

/** A queued run that failed on its worker (after its retries), with the worker's reason. */
export class RunJobFailedError extends Error {
  readonly code: string;
  constructor(threadId: string, reason: string) {
    super(`the queued run on thread "${threadId}" failed: ${reason}`);
    this.name = "RunJobFailedError";
    // A worker marks a thread that cannot run (none there, an old format) with THREAD: bad input, as locally.
    this.code = reason.startsWith("THREAD: ") ? "THREAD" : "RUN_JOB_FAILED";
  }
}

export interface Submission {
  /** False when the thread's job was already waiting or running: nothing new was queued. */
  queued: boolean;
  /** The job's state before this submission (when there was one). */
  previous?: string;
  /** With `follow`: settles when the job ends (a report, or waiting for an answer). */
  done?: Promise<RunJobResult>;
}

export interface SubmitOptions {
  /** Follow the job to its end; called with each event its workers publish. */
  follow?: (progress: RunProgress) => void;
  /** How often the job's state is read besides the events (default 1 s). */
  pollMs?: number;
}

/**
 * Queues a job whose id is the thread: a thread is never queued twice. A thread whose last job
 * ended (it waits for approval, it finished, it failed) gets its continuation queued in its place;
 * one still waiting or running is left as it is (and followed).
 */
export async function submit(queue: RunQueue, data: RunJobData, options: SubmitOptions = {}): Promise<Submission> {
  const threadId = data.threadId;
  const events = options.follow ? new QueueEvents(queue.target.name, { connection: bullConnection(queue.target), prefix: queue.target.prefix }) : undefined;
  events?.on("error", () => {});
  try {
    // Subscribed before the job exists: no event of it is missed.
    await events?.waitUntilReady();
    const existing = await queue.queue.getJob(threadId);
    const previous = existing ? await existing.getState() : undefined;
    let queued = false;
    if (!existing || previous === "completed" || previous === "failed" || previous === "unknown") {
      if (existing && data.kind === "start") throw new QueueError(`thread "${threadId}" already ran on the queue (${previous}); continue it with: credit-optimizer resume ${threadId}`);
      await existing?.remove().catch(() => {});
      await queue.queue.add(JOB_NAME, data, { jobId: threadId });
      queued = true;
    }
    if (!events) return { queued, previous };
    const done = followJob(queue, threadId, events, options.follow!, options.pollMs ?? 1_000);
    return { queued, previous, done };
  } catch (error) {
    await events?.close().catch(() => {});
    throw error;
  }
}

function followJob(queue: RunQueue, threadId: string, events: QueueEvents, onProgress: (progress: RunProgress) => void, pollMs: number): Promise<RunJobResult> {
  return new Promise<RunJobResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      void events.close().catch(() => {});
      fn();
    };
    const check = async (): Promise<void> => {
      const job: Job<RunJobData, RunJobResult> | undefined = await queue.queue.getJob(threadId);
      if (!job) return settle(() => reject(new RunJobFailedError(threadId, "its job was removed from the queue")));
      const state = await job.getState();
      if (state === "completed") settle(() => resolve(job.returnvalue));
      if (state === "failed") settle(() => reject(new RunJobFailedError(threadId, job.failedReason)));
    };
    events.on("progress", ({ jobId, data }) => {
      if (jobId === threadId && !settled) onProgress(data as RunProgress);
    });
    // A failed attempt that will be retried is not the end: the job's state says.
    events.on("completed", ({ jobId }) => void (jobId === threadId && check().catch(() => {})));
    events.on("failed", ({ jobId }) => void (jobId === threadId && check().catch(() => {})));
    // Events are a stream that Redis trims; reading the state now and then covers a gap.
    const poll = setInterval(() => void check().catch(() => {}), pollMs);
    void check().catch(() => {});
  });
}

import type { Job, JobType } from "bullmq";
import type { RunJobData, RunJobResult, RunQueue } from "./queue.ts";

/** `queued` waits for a worker; `waiting_for_approval` freed its worker; the rest are a report's status, or `failed` when the job itself failed. */
export type QueuedRunStatus = "queued" | "running" | "waiting_for_approval" | "failed" | string;

/** One run of the queue, as `runs` lists it. */
export interface QueuedRun {
  threadId: string;
  status: QueuedRunStatus;
  /** The worker that runs it, or ran it last. */
  worker?: string;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Actual cost, once the run has a report. */
  costUsd?: number;
  /** The question it waits at, when waiting for approval. */
  waitingFor?: string;
  /** Steps called again after a hand-over (in flight when their worker died). */
  recalls: string[];
  /** Why the job failed. */
  error?: string;
}

const STATES: JobType[] = ["active", "waiting", "prioritized", "delayed", "waiting-children", "completed", "failed"];

/** Every run the queue holds (BullMQ keeps a finished job a week), newest first. */
export async function listRuns(queue: RunQueue, statuses: readonly string[] = []): Promise<QueuedRun[]> {
  const runs: QueuedRun[] = [];
  for (const state of STATES) {
    const jobs = (await queue.queue.getJobs(state)) as Job<RunJobData, RunJobResult>[];
    for (const job of jobs) if (job?.id) runs.push(describe(job, state));
  }
  const wanted = new Set(statuses);
  return runs.filter((r) => wanted.size === 0 || wanted.has(r.status)).sort((a, b) => b.queuedAt.localeCompare(a.queuedAt));
}

function describe(job: Job<RunJobData, RunJobResult>, state: JobType): QueuedRun {
  const result = state === "completed" ? job.returnvalue : undefined;
  const iso = (ms: number | undefined): string | undefined => (ms ? new Date(ms).toISOString() : undefined);
  const status: QueuedRunStatus =
    state === "active" ? "running" : state === "failed" ? "failed" : !result ? "queued" : result.kind === "waiting" ? "waiting_for_approval" : result.report.status === "not_run" ? result.report.outcome : result.report.status;
  return {
    threadId: job.id!,
    status,
    worker: result?.worker ?? job.processedBy,
    queuedAt: iso(job.timestamp)!,
    startedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    costUsd: result?.kind === "finished" ? result.report.actual.usd : undefined,
    waitingFor: result?.kind === "waiting" ? result.question.question : undefined,
    recalls: result?.recalls ?? [],
    error: state === "failed" ? job.failedReason : undefined,
  };
}

import { hostname } from "node:os";
import type { AppConfig } from "../config.ts";
import { parseQueueUrl } from "../worker/queue.ts";
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from "../worker/queue-limits.ts";
import { startWorker } from "../worker/worker.ts";
import { parseCount, UsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";

export interface WorkerCommandOptions {
  queue?: string;
  concurrency?: string;
  serverLimit?: string[];
  graceMs?: string;
  lockMs?: string;
  name?: string;
  mcpConfig?: string;
  checkpointer?: string;
}

/**
 * `worker --queue redis://HOST:PORT`: takes runs from the queue until SIGTERM (or Ctrl-C). Then it
 * takes no new run, lets the runs it holds finish for `--grace-ms`, hands the others back to the
 * queue (another worker resumes them from the checkpoint), and closes its servers.
 */
export async function workerCommand(options: WorkerCommandOptions, config: AppConfig, io: Io): Promise<number> {
  const url = options.queue ?? config.queueUrl;
  if (!url) throw new UsageError("worker needs a queue: --queue redis://HOST:PORT (or CREDIT_OPTIMIZER_QUEUE)");
  const worker = await startWorker(config, {
    target: parseQueueUrl(url),
    name: options.name ?? `${hostname()}:${process.pid}`,
    concurrency: parseCount("--concurrency", options.concurrency) ?? 4,
    limits: parseServerLimits(options.serverLimit),
    graceMs: parseMs("--grace-ms", options.graceMs) ?? 30_000,
    lockMs: parseMs("--lock-ms", options.lockMs) ?? 30_000,
    checkpointer: options.checkpointer,
    mcpConfigPath: options.mcpConfig,
    log: (line) => io.err(line),
  });
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  await signalled;
  const clean = await worker.stop();
  if (!clean) {
    // Runs were handed back mid-way: leave now, as a lost machine would; the checkpoint has what finished.
    io.err(`worker ${worker.name}: exited with runs handed back`);
    process.exit(EXIT.ok);
  }
  io.err(`worker ${worker.name}: stopped`);
  return EXIT.ok;
}

/** `--server-limit 4` (every server) and `--server-limit toolkit=2` (one), repeatable; undefined when not given (the queue's then). */
export function parseServerLimits(values: readonly string[] | undefined): QueueLimits | undefined {
  if (!values || values.length === 0) return undefined;
  let limit = DEFAULT_QUEUE_LIMITS.limit;
  const perServer: Record<string, number> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    const count = parseCount("--server-limit", eq < 0 ? value : value.slice(eq + 1))!;
    if (eq < 0) limit = count;
    else if (eq === 0) throw new UsageError(`--server-limit expects N or SERVER=N, got "${value}"`);
    else perServer[value.slice(0, eq)] = count;
  }
  return { limit, perServer };
}

function parseMs(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number of milliseconds, got "${value}"`);
  return n;
}

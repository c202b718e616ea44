import type { AppConfig } from "../config.ts";
import { formatUsd } from "../cost/format.ts";
import { openRunQueue, parseQueueUrl } from "../worker/queue.ts";
import { describeLimits, limitsKey, readQueueLimits, type StoredQueueLimits } from "../worker/queue-limits.ts";
import { listRuns, type QueuedRun } from "../worker/runs.ts";
import { UsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";

/** `runs [--status …] [--json]`: the queue's runs across every worker, newest first. */
export async function runsCommand(options: { queue?: string; status?: string[]; json?: boolean }, config: AppConfig, io: Io): Promise<number> {
  const url = options.queue ?? config.queueUrl;
  if (!url) throw new UsageError("runs lists the run queue: --queue redis://HOST:PORT (or CREDIT_OPTIMIZER_QUEUE)");
  const statuses = (options.status ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  const queue = await openRunQueue(parseQueueUrl(url));
  try {
    const runs = await listRuns(queue, statuses);
    if (options.json) io.out(JSON.stringify(runs, null, 2));
    else io.out(`${renderRuns(runs)}\n${limitsLine(await readQueueLimits(queue), limitsKey(queue))}`);
    return EXIT.ok;
  } finally {
    await queue.close();
  }
}

/** Where the per-server limits live: the queue's, set by its first worker. */
function limitsLine(limits: StoredQueueLimits | undefined, key: string): string {
  if (!limits) return `limits: none yet (the first worker stores its --server-limit in the Redis hash ${key})`;
  return `limits: calls at once per MCP server across all workers ${describeLimits(limits)} (the queue's, set by ${limits.setBy ?? "its first worker"}; Redis hash ${key})`;
}

function renderRuns(runs: QueuedRun[]): string {
  if (runs.length === 0) return "no runs on the queue";
  const rows = runs.map((r) => [
    r.threadId,
    r.status,
    r.worker ?? "—",
    r.startedAt ?? `queued ${r.queuedAt}`,
    r.costUsd === undefined ? "—" : formatUsd(r.costUsd),
    r.waitingFor ?? r.error ?? (r.recalls.length > 0 ? `called again after a hand-over: ${r.recalls.join(", ")}` : ""),
  ]);
  const header = ["THREAD", "STATUS", "WORKER", "STARTED", "COST", "WAITING FOR / NOTE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { compileExecutor } from "../../graphs/executor.ts";
import { openCheckpointer, type Checkpointer } from "../checkpoint.ts";
import type { AppConfig } from "../config.ts";
import { buildRunReport, exitCodeOf, type RunReport } from "../engine/report.ts";
import { openRuntime, type Runtime } from "../engine/runtime.ts";
import { acquireThreadLock } from "../engine/thread-lock.ts";
import type { ExecState, Scheduler } from "../engine/schedule.ts";
import { openLedger, type Ledger } from "../cost/ledger.ts";
import { createStepRecorder, recordRunEnd, recordRunStart } from "../cost/recorder.ts";
import { Plan } from "../plan/schema.ts";
import { formatProblem, validatePlan } from "../plan/validate.ts";
import { maskSecrets } from "../secrets.ts";
import { parse, parseParams, UsageError } from "./args.ts";
import { renderEvent, renderRunReport } from "./render.ts";

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const consoleIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const RUN_FLAGS = {
  plan: { type: "string" },
  "allow-destructive": { type: "boolean" },
  "mcp-config": { type: "string" },
  scheduler: { type: "string" },
  thread: { type: "string" },
  param: { type: "string", multiple: true },
  json: { type: "boolean" },
  checkpointer: { type: "string" },
  concurrency: { type: "string" },
} as const;

/** `validate <plan.json> [--mcp-config f] [--param k=v]`: 0 valid, 2 invalid. */
export async function validateCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { "mcp-config": { type: "string" }, param: { type: "string", multiple: true } });
  const file = positionals[0];
  if (!file) throw new UsageError("validate needs a plan file: credit-optimizer validate <plan.json>");
  const plan = await readPlanFile(file);
  const runtime = await openRuntime({ config, mcpConfigPath: values["mcp-config"] ?? config.mcpConfigPath });
  try {
    const { caller, allow, untrusted } = runtime.context;
    for (const pin of runtime.newlyPinned) io.err(`trusted MCP server "${pin.server}" on first use: ${pin.command}`);
    const result = validatePlan(plan, { tools: caller.tools, params: parseParams(values.param), allow, untrusted });
    for (const note of result.ok ? result.prepared.notes : result.notes) io.out(`note: ${note}`);
    if (!result.ok) {
      io.err(`${file}: ${result.problems.length} problem(s):`);
      for (const p of result.problems) io.err(`  - ${formatProblem(p)}`);
      return 2;
    }
    io.out(`${file}: valid — ${result.prepared.order.length} steps`);
    return 0;
  } finally {
    await runtime.close();
  }
}

/** `run --plan <file>`: runs a plan on the executor graph. */
export async function runPlanCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values } = parse(argv, RUN_FLAGS);
  if (!values.plan) throw new UsageError("run needs --plan <plan.json> (or a request in quotes)");
  const scheduler = parseScheduler(values.scheduler);
  const plan = await readPlanFile(values.plan);
  return executeOnThread(
    { plan, params: parseParams(values.param), scheduler, allowDestructive: values["allow-destructive"] ?? false, mcpConfigPath: values["mcp-config"] ?? config.mcpConfigPath },
    { threadId: values.thread ?? `run-${randomUUID()}`, json: values.json ?? false, checkpointer: values.checkpointer, concurrency: values.concurrency },
    config,
    io,
  );
}

/** `resume <thread>`: continues a run that was killed, or re-runs one that was stopped. */
export async function resumeCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" }, checkpointer: { type: "string" }, "mcp-config": { type: "string" } });
  const threadId = positionals[0];
  if (!threadId) throw new UsageError("resume needs a thread id: credit-optimizer resume <thread>");
  return executeOnThread(undefined, { threadId, json: values.json ?? false, checkpointer: values.checkpointer, mcpConfig: values["mcp-config"] }, config, io);
}

export interface RunInput {
  plan: unknown;
  params: Record<string, unknown>;
  scheduler: Scheduler;
  /** `--allow-destructive`: steps may call destructive tools. */
  allowDestructive: boolean;
  mcpConfigPath?: string;
}

export interface ThreadOptions {
  threadId: string;
  json: boolean;
  checkpointer?: string;
  concurrency?: string;
  mcpConfig?: string;
}

/** Runs (or, with no input, resumes) a plan on a thread of the executor graph; returns the exit code. */
export async function executeOnThread(input: RunInput | undefined, options: ThreadOptions, config: AppConfig, io: Io): Promise<number> {
  const checkpointerUrl = options.checkpointer ?? config.databaseUrl;
  const lock = await acquireThreadLock({ home: config.home, url: checkpointerUrl }, options.threadId);
  const checkpointer = await openCheckpointer({ home: config.home, url: checkpointerUrl }).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  const stop = new AbortController();
  let runtime: Runtime | undefined;
  let ledger: Ledger | undefined;
  const onSigint = (): void => {
    if (stop.signal.aborted) process.exit(130);
    io.err("stopping: no new steps start; finished steps will be rolled back (Ctrl-C again to quit now)");
    stop.abort();
  };
  try {
    // Each checkpoint is saved before the next step starts: what a crash loses is only what was running.
    const threadConfig = { configurable: { thread_id: options.threadId }, recursionLimit: 10_000, durability: "sync" as const };
    let mcpConfigPath = input?.mcpConfigPath;
    let graphInput: RunInput | null = input ?? null;
    let resumedPlan: unknown;
    if (!input) {
      const resumed = await resumeInput(checkpointer, options.threadId, config, io);
      if (typeof resumed === "number") return resumed;
      graphInput = resumed.input;
      resumedPlan = resumed.plan;
      mcpConfigPath = options.mcpConfig ?? resumed.mcpConfigPath;
      if (!resumed.pending && resumed.finished) {
        const report = buildRunReport(options.threadId, resumed.finished);
        printReport(report, options.json, io);
        return exitCodeOf(report.status);
      }
    }
    const plan = Plan.safeParse(graphInput?.plan ?? resumedPlan);
    ledger = await openLedger({ home: config.home, url: checkpointerUrl });
    const recorder = plan.success ? createStepRecorder(ledger, options.threadId, { plan: plan.data }) : undefined;
    const startedAt = Date.now();
    if (plan.success) await recordRunStart(ledger, { runId: options.threadId, plan: plan.data.name, startedAt });
    runtime = await openRuntime({
      config,
      mcpConfigPath,
      concurrency: options.concurrency ? Number(options.concurrency) : undefined,
      checkpointerUrl,
    });
    for (const pin of runtime.newlyPinned) io.err(`trusted MCP server "${pin.server}" on first use: ${pin.command}`);
    const ctx = runtime.context;
    const graph = compileExecutor(
      {
        context: async () => ctx,
        stopSignal: stop.signal,
        onEvent: (event) => {
          recorder?.onEvent(event);
          if (!options.json) io.err(renderEvent(event));
        },
      },
      checkpointer.saver,
    );
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigint);
    if (!options.json) io.err(`thread ${options.threadId} (resume with: credit-optimizer resume ${options.threadId})`);
    let final: ExecState;
    try {
      final = (await graph.invoke(graphInput === null ? null : { ...graphInput, mcpConfigPath }, threadConfig)) as ExecState;
    } catch (error) {
      // Steps never throw: what reaches here is the checkpointer or the graph runtime failing.
      throw new RunInterruptedError(options.threadId, checkpointer.description, error);
    }
    const report = buildRunReport(options.threadId, final);
    if (plan.success) {
      await recorder?.flush();
      await recordRunEnd(ledger, { runId: options.threadId, startedAt, report });
    }
    printReport(report, options.json, io);
    return exitCodeOf(report.status);
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    await ledger?.close();
    await runtime?.close();
    await checkpointer.close();
    await lock.release();
  }
}

/** The run stopped because its state could not be saved; what finished is kept, `resume` continues. */
export class RunInterruptedError extends Error {
  readonly code = "RUN_INTERRUPTED";
  constructor(threadId: string, checkpointer: string, cause: unknown) {
    const reason = maskSecrets(cause instanceof Error ? cause.message : String(cause));
    super(`the run on thread "${threadId}" stopped: ${reason} (checkpointer ${checkpointer}). Finished steps are saved; once the checkpointer is reachable, continue with: credit-optimizer resume ${threadId}`);
    this.name = "RunInterruptedError";
  }
}

type Resumed = { input: RunInput | null; plan: unknown; mcpConfigPath?: string; pending: boolean; finished?: ExecState };

/** Reads a thread back: an interrupted superstep continues (null input); a stopped run starts again. */
async function resumeInput(checkpointer: Checkpointer, threadId: string, config: AppConfig, io: Io): Promise<Resumed | number> {
  const probe = compileExecutor({ context: () => Promise.reject(new Error("not connected")) }, checkpointer.saver);
  const snapshot = await probe.getState({ configurable: { thread_id: threadId } });
  const values = snapshot.values as Partial<ExecState> & { mcpConfigPath?: string };
  if (!values.plan) {
    io.err(`no run found on thread "${threadId}" in ${checkpointer.description}`);
    return 2;
  }
  const mcpConfigPath = values.mcpConfigPath ?? config.mcpConfigPath;
  const plan = values.plan;
  if (snapshot.next.length > 0) return { input: null, plan, mcpConfigPath, pending: true };
  if (values.status === "cancelled") {
    const input = { plan, params: values.params ?? {}, scheduler: values.scheduler ?? "asap", allowDestructive: values.allowDestructive ?? false };
    return { input, plan, mcpConfigPath, pending: true };
  }
  return { input: null, plan, mcpConfigPath, pending: false, finished: values as ExecState };
}

function printReport(report: RunReport, json: boolean, io: Io): void {
  io.out(json ? JSON.stringify(report, null, 2) : renderRunReport(report));
}

export function parseScheduler(value: string | undefined): Scheduler {
  if (value === undefined || value === "asap" || value === "waves") return value ?? "asap";
  throw new UsageError(`--scheduler must be asap or waves, got "${value}"`);
}

export async function readPlanFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read plan ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`plan ${file} is not JSON: ${(error as Error).message}`);
  }
}

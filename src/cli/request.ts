import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline/promises";
import { Command } from "@langchain/langgraph";
import { checkpointMemory } from "../../agents/memory.ts";
import { configuredChatModel, loadWorkflowLibrary, type OrchestratorDeps } from "../../agents/deps.ts";
import type { ApprovalAnswer, ApprovalRequest, OrchestratorReport } from "../../agents/types.ts";
import { compileOrchestrator, type OrchestratorStateType } from "../../graphs/orchestrator.ts";
import { openCheckpointer, type Checkpointer } from "../checkpoint.ts";
import type { AppConfig } from "../config.ts";
import { CostCallbackHandler } from "../cost/callbacks.ts";
import { formatComparison, formatForecast } from "../cost/forecast.ts";
import { formatMs, formatUsd } from "../cost/format.ts";
import { openLedger, type Ledger } from "../cost/ledger.ts";
import { loadCostSettings } from "../cost/settings.ts";
import { exitCodeOf, type RunReport } from "../engine/report.ts";
import { acquireThreadLock } from "../engine/thread-lock.ts";
import { openRuntime, type Runtime } from "../engine/runtime.ts";
import type { StepEvent } from "../engine/schedule.ts";
import { flushBeforeExit, setupTracing, type Tracing } from "../tracing.ts";
import { parse, parseParams, UsageError } from "./args.ts";
import { renderEvent, renderRunReport } from "./render.ts";
import { parseScheduler, resumeCommand, type Io } from "./run.ts";

/** Exit codes of request runs. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, waiting: 3 } as const;

const REQUEST_FLAGS = {
  yes: { type: "boolean", short: "y" },
  "allow-destructive": { type: "boolean" },
  fresh: { type: "boolean" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  budget: { type: "string" },
  session: { type: "string" },
  thread: { type: "string" },
  "mcp-config": { type: "string" },
  checkpointer: { type: "string" },
  scheduler: { type: "string" },
  concurrency: { type: "string" },
  param: { type: "string", multiple: true },
  resume: { type: "string" },
  approve: { type: "boolean" },
  reject: { type: "boolean" },
} as const;

/**
 * `run "<request>"` and `plan "<request>"`: the orchestrator (architect → credit-validator →
 * approval → executor → reporter) on a thread of its own. `--yes` approves, `--dry-run` (and
 * `plan`) stop after the forecast, `--json` prints the report as JSON. `resume <thread>`
 * continues a request thread (see resumeRequestCommand).
 */
export async function requestCommand(mode: "run" | "plan", argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, REQUEST_FLAGS);
  const json = values.json ?? false;
  if (values.resume) return resumeThread(values.resume, { approve: answerFlag(values.approve, values.reject), json, checkpointer: values.checkpointer, mcpConfig: values["mcp-config"] }, config, io);
  const request = positionals.join(" ").trim();
  if (!request) throw new UsageError(`${mode} needs a request in quotes: credit-optimizer ${mode} "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis"`);
  const budgetUsd = parseBudget(values.budget);
  const scheduler = parseScheduler(values.scheduler);
  const mcpConfigPath = values["mcp-config"] ?? config.mcpConfigPath;
  const session = await openRequestSession(config, { checkpointer: values.checkpointer, mcpConfigPath, concurrency: values.concurrency });
  try {
    const threadId = values.thread ?? `run-${randomUUID()}`;
    const input = {
      request,
      session: values.session,
      budgetUsd,
      dryRun: mode === "plan" || (values["dry-run"] ?? false),
      autoApprove: values.yes ?? false,
      allowDestructive: values["allow-destructive"] ?? false,
      fresh: values.fresh ?? false,
      params: parseParams(values.param),
      scheduler,
      mcpConfigPath,
    };
    const terminal = !json && process.stdin.isTTY === true;
    return await drive(session, input, threadId, { io, json, ask: terminal ? askOnTerminal : undefined, askBudget: terminal ? askBudgetOnTerminal : undefined });
  } finally {
    await session.close();
  }
}

/**
 * `resume <thread>` for any thread: a request thread continues in the orchestrator (an approval
 * waiting is answered with `--approve`/`--reject`, or asked on a terminal; a killed run continues;
 * a stopped run is run again); any other thread goes to the executor's resume.
 */
export async function resumeRequestCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" }, checkpointer: { type: "string" }, "mcp-config": { type: "string" }, approve: { type: "boolean" }, reject: { type: "boolean" } });
  const threadId = positionals[0];
  if (!threadId) throw new UsageError("resume needs a thread id: credit-optimizer resume <thread>");
  if (!(await isRequestThread(threadId, config, values.checkpointer))) {
    return resumeCommand(argv.filter((a) => a !== "--approve" && a !== "--reject"), config, io);
  }
  return resumeThread(threadId, { approve: answerFlag(values.approve, values.reject), json: values.json ?? false, checkpointer: values.checkpointer, mcpConfig: values["mcp-config"] }, config, io);
}

/** Whether a thread holds an orchestrator run (it has a request). */
export async function isRequestThread(threadId: string, config: AppConfig, checkpointerUrl?: string): Promise<boolean> {
  const checkpointer = await openCheckpointer({ home: config.home, url: checkpointerUrl ?? config.databaseUrl });
  try {
    const tuple = await checkpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    return typeof tuple?.checkpoint.channel_values["request"] === "string";
  } finally {
    await checkpointer.close();
  }
}

interface ResumeOptions {
  approve?: boolean;
  json: boolean;
  checkpointer?: string;
  mcpConfig?: string;
}

async function resumeThread(threadId: string, options: ResumeOptions, config: AppConfig, io: Io): Promise<number> {
  const probeCheckpointer = await openCheckpointer({ home: config.home, url: options.checkpointer ?? config.databaseUrl });
  let stored: Partial<OrchestratorStateType>;
  try {
    const tuple = await probeCheckpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    stored = (tuple?.checkpoint.channel_values ?? {}) as Partial<OrchestratorStateType>;
  } finally {
    await probeCheckpointer.close();
  }
  if (typeof stored.request !== "string") {
    io.err(`no request run found on thread "${threadId}"`);
    return EXIT.badInput;
  }
  const session = await openRequestSession(config, { checkpointer: options.checkpointer, mcpConfigPath: options.mcpConfig ?? stored.mcpConfigPath ?? config.mcpConfigPath });
  try {
    const graph = session.graph(new AbortController().signal);
    const threadConfig = { configurable: { thread_id: threadId } };
    const snapshot = await graph.getState(threadConfig);
    const waiting = snapshot.tasks.some((t) => t.interrupts.length > 0);
    const terminal = !options.json && process.stdin.isTTY === true;
    const ui: DriveUi = {
      io,
      json: options.json,
      ask: options.approve !== undefined ? async () => ({ approved: options.approve! }) : terminal ? askOnTerminal : undefined,
      askBudget: terminal ? askBudgetOnTerminal : undefined,
    };
    if (waiting) return await drive(session, null, threadId, ui);
    if (snapshot.next.length > 0) return await drive(session, null, threadId, ui);
    const values = snapshot.values as OrchestratorStateType;
    if (values.status === "cancelled") {
      // Stopped with Ctrl-C and rolled back: run the approved plan again from the start.
      await graph.updateState(threadConfig, { results: null, compensations: [], status: "pending", outcome: undefined, report: undefined }, "approve");
      return await drive(session, null, threadId, ui);
    }
    if (values.report) {
      printReport(values.report, options.json, io);
      return exitCodeOfReport(values.report);
    }
    io.err(`thread "${threadId}" has nothing to resume`);
    return EXIT.badInput;
  } finally {
    await session.close();
  }
}

/** What running a request needs, opened once per CLI command: checkpointer, MCP servers, ledger, tracing. */
export interface RequestSession {
  config: AppConfig;
  checkpointer: Checkpointer;
  /** Where the checkpointer is (thread locks live beside it). */
  checkpointerUrl?: string;
  runtime: Runtime;
  ledger?: Ledger;
  tracing: Tracing;
  deps: Omit<OrchestratorDeps, "stopSignal" | "onEvent">;
  /** The orchestrator with this stop signal, event sink and budget question. */
  graph(stop: AbortSignal, onEvent?: (event: StepEvent) => void, askBudget?: (message: string) => Promise<boolean>): ReturnType<typeof compileOrchestrator>;
  close(): Promise<void>;
}

export interface SessionOptions {
  checkpointer?: string;
  mcpConfigPath?: string;
  concurrency?: string;
}

export async function openRequestSession(config: AppConfig, options: SessionOptions = {}): Promise<RequestSession> {
  const checkpointerUrl = options.checkpointer ?? config.databaseUrl;
  const settings = loadCostSettings(config);
  const tracing = setupTracing(config, { pricing: settings.pricing });
  const checkpointer = await openCheckpointer({ home: config.home, url: checkpointerUrl });
  let runtime: Runtime | undefined;
  let ledger: Ledger | undefined;
  try {
    // The ledger sits beside a Postgres checkpointer; with SQLite it keeps its own file.
    ledger = await openLedger({ home: config.home, url: checkpointerUrl && /^postgres(ql)?:/.test(checkpointerUrl) ? checkpointerUrl : undefined });
    runtime = await openRuntime({
      config,
      mcpConfigPath: options.mcpConfigPath,
      concurrency: options.concurrency ? Number(options.concurrency) : undefined,
      checkpointerUrl,
    });
  } catch (error) {
    await ledger?.close();
    await checkpointer.close();
    throw error;
  }
  const context = runtime.context;
  const deps: RequestSession["deps"] = {
    config,
    memory: checkpointMemory(checkpointer.saver),
    library: loadWorkflowLibrary,
    chatModel: configuredChatModel(config, undefined, settings.routing),
    pricing: settings.pricing,
    ledger,
    recordModelCalls: false,
    context: async () => context,
  };
  const openedRuntime = runtime;
  return {
    config,
    checkpointer,
    checkpointerUrl,
    runtime,
    ledger,
    tracing,
    deps,
    graph: (stop, onEvent, askBudget) => compileOrchestrator({ ...deps, stopSignal: stop, onEvent, askBudget }, checkpointer.saver),
    async close() {
      await flushBeforeExit(tracing);
      await openedRuntime.close();
      await ledger?.close();
      await checkpointer.close();
    },
  };
}

export interface DriveUi {
  io: Io;
  json: boolean;
  /** Asks a person to approve; undefined = nobody to ask (exit 3, resumable). */
  ask?: (request: ApprovalRequest, io: Io) => Promise<ApprovalAnswer | undefined>;
  /** Asks mid-run whether to go on past the budget; without it the run stops and rolls back. */
  askBudget?: (message: string) => Promise<boolean>;
  /** Write live progress here (default stderr); `tty` animates running steps. */
  progress?: { write(text: string): void; tty: boolean };
  /** Called when the plan and forecast are known (before approval and execution). */
  onPlanned?: (state: OrchestratorStateType) => void;
}

/** Runs the orchestrator on a thread until it ends or waits for an approval nobody can give now. */
export async function drive(session: RequestSession, input: unknown, threadId: string, ui: DriveUi): Promise<number> {
  const lock = await acquireThreadLock({ home: session.config.home, url: session.checkpointerUrl }, threadId);
  try {
    return await driveLocked(session, input, threadId, ui);
  } finally {
    await lock.release();
  }
}

async function driveLocked(session: RequestSession, input: unknown, threadId: string, ui: DriveUi): Promise<number> {
  if (!ui.json) ui.io.err(`thread ${threadId} (resume with: ${resumeHint(threadId)})`);
  let next: unknown = input;
  let planShown = false;
  for (;;) {
    const result = await invokeOnce(session, next, threadId, ui, () => planShown, () => (planShown = true));
    if (result.waiting) {
      const request = result.waiting;
      if (!ui.json) ui.io.err(renderApproval(request));
      const answer = ui.ask ? await ui.ask(request, ui.io) : undefined;
      if (answer === undefined) {
        if (ui.json) ui.io.out(JSON.stringify({ threadId, outcome: "waiting_for_approval", approval: request }, null, 2));
        else ui.io.err(`waiting for approval: ${resumeHint(threadId)} --approve (or --reject)`);
        return EXIT.waiting;
      }
      next = new Command({ resume: answer });
      continue;
    }
    const report = result.state.report!;
    if (result.state.status === "cancelled" && !ui.json) ui.io.err(`stopped and rolled back; the thread is resumable: ${resumeHint(threadId)}`);
    printReport(report, ui.json, ui.io);
    return exitCodeOfReport(report);
  }
}

interface InvokeResult {
  state: OrchestratorStateType;
  waiting?: ApprovalRequest;
}

async function invokeOnce(session: RequestSession, input: unknown, threadId: string, ui: DriveUi, shown: () => boolean, markShown: () => void): Promise<InvokeResult> {
  const stop = new AbortController();
  const progress = ui.json ? undefined : new LiveProgress(ui.progress ?? { write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true });
  const askBudget =
    ui.askBudget ??
    (async (message: string): Promise<boolean> => {
      ui.io.err(`${message} — nobody to ask: stopping and rolling back`);
      return false;
    });
  const graph = session.graph(stop.signal, progress ? (e) => progress.onEvent(e) : undefined, askBudget);
  const costs = session.ledger ? new CostCallbackHandler({ pricing: session.deps.pricing!, ledger: session.ledger, runId: threadId }) : undefined;
  const threadConfig = {
    configurable: { thread_id: threadId },
    recursionLimit: 10_000,
    // Each checkpoint is saved before the next step starts: what a crash loses is only what was running.
    durability: "sync" as const,
    callbacks: [...(costs ? [costs] : []), ...session.tracing.callbacks],
    metadata: { thread_id: threadId },
    runName: "credit-optimizer",
  };
  const onSigint = (): void => {
    if (stop.signal.aborted) process.exit(130);
    ui.io.err("\nstopping: no new steps start; finished steps are rolled back (Ctrl-C again to quit now)");
    stop.abort();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  try {
    const stream = await graph.stream(input as never, { ...threadConfig, streamMode: "values" });
    for await (const values of stream) {
      const state = values as OrchestratorStateType;
      if (!shown() && state.forecast && state.decision) {
        markShown();
        ui.onPlanned?.(state);
        if (!ui.json) ui.io.err(renderPlan(state));
      }
    }
  } finally {
    progress?.stop();
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    await costs?.flush().catch(() => {});
  }
  const snapshot = await graph.getState({ configurable: { thread_id: threadId } });
  const waiting = snapshot.tasks.flatMap((t) => t.interrupts).map((i) => i.value as ApprovalRequest)[0];
  const state = snapshot.values as OrchestratorStateType;
  if (!shown() && state.planProblems.length > 0 && !ui.json) ui.io.err(renderPlanner(state));
  return { state, waiting };
}

/** 0 succeeded or planned, 1 run failed (rolled back) or declined, 2 bad input (no valid plan, over a hard cap), 3 waiting. */
export function exitCodeOfReport(report: OrchestratorReport): number {
  switch (report.outcome) {
    case "executed":
      return report.status === "not_run" ? EXIT.failed : exitCodeOf(report.status);
    case "planned":
      return EXIT.ok;
    case "declined":
      return EXIT.failed;
    case "planning_failed":
    case "rejected":
      return EXIT.badInput;
  }
}

export function printReport(report: OrchestratorReport, json: boolean, io: Io): void {
  io.out(json ? JSON.stringify(report, null, 2) : renderReport(report));
}

/** Which planner, the plan as a table, the forecast and the budget verdict. */
export function renderPlan(state: OrchestratorStateType): string {
  const lines = [renderPlanner(state)];
  const plan = state.plan as { name?: string; steps?: { id: string; tool: string; dependencies?: string[] }[] } | undefined;
  const forecast = state.forecast;
  if (plan?.steps) {
    const perStep = new Map((forecast?.perStep ?? []).map((s) => [s.id, s]));
    const idWidth = Math.max(4, ...plan.steps.map((s) => s.id.length));
    const toolWidth = Math.max(4, ...plan.steps.map((s) => (perStep.get(s.id)?.tool ?? s.tool).length));
    lines.push(`  ${"step".padEnd(idWidth)}  ${"tool".padEnd(toolWidth)}  ${"after".padEnd(24)}  forecast`);
    for (const step of plan.steps) {
      const f = perStep.get(step.id);
      const deps = (step.dependencies ?? []).join(", ") || "—";
      const destructive = state.decision?.destructiveSteps.includes(step.id) ? "  ⚠ destructive" : "";
      const est = f ? `${formatMs(f.ms.p50)} ${formatUsd(f.usd)} (${f.source})` : "";
      lines.push(`  ${step.id.padEnd(idWidth)}  ${(f?.tool ?? step.tool).padEnd(toolWidth)}  ${deps.padEnd(24)}  ${est}${destructive}`);
    }
  }
  if (forecast) lines.push(...formatForecast(forecast).split("\n").map((l) => `  ${l}`));
  const d = state.decision;
  if (d) {
    const verdict = d.verdict === "ok" ? "within budget" : d.verdict === "ask" ? "needs approval" : "rejected";
    lines.push(`  budget: ${verdict} (today ${formatUsd(d.spentTodayUsd)} of ${formatUsd(d.dailyCapUsd)}, month ${formatUsd(d.spentMonthUsd)} of ${formatUsd(d.monthlyCapUsd)})`);
    for (const r of d.reasons) lines.push(`    - ${r}`);
  }
  return lines.join("\n");
}

function renderPlanner(state: OrchestratorStateType): string {
  const p = state.planner;
  const name = (state.plan as { name?: string } | undefined)?.name ?? "(no plan)";
  if (!p) return `plan "${name}"`;
  const by = p.kind === "model" ? `model planner (${p.model ?? "model"}, ${p.cached ? "from the plan cache" : `${p.attempts ?? 1} call(s)`})` : "catalog planner (no model configured)";
  const lines = [`plan "${name}" by the ${by}: ${p.reason}`];
  for (const f of p.filled ?? []) lines.push(`  param ${f}`);
  for (const problem of state.planProblems) lines.push(`  ✗ ${problem}`);
  return lines.join("\n");
}

function renderApproval(request: ApprovalRequest): string {
  return [`approval needed: ${request.question}`, ...request.reasons.map((r) => `  - ${r}`)].join("\n");
}

/** The human report: planner, per-step timeline, rollbacks, speedup, forecast vs actual, summary. */
export function renderReport(report: OrchestratorReport): string {
  const lines: string[] = [];
  if (report.outcome === "executed") {
    const run: RunReport = {
      threadId: report.threadId,
      plan: report.plan ?? "(no plan)",
      status: report.status === "not_run" ? "pending" : report.status,
      steps: report.steps,
      timing: { makespanMs: report.timeline.makespanMs, criticalPathMs: report.timeline.criticalPathMs, sequentialMs: report.timeline.sequentialMs, speedup: report.timeline.speedup },
      compensations: report.rolledBack,
      leftBehind: report.leftBehind,
      problems: report.problems,
      notes: [],
    };
    lines.push(renderRunReport(run));
    if (report.timeline.overlaps.length > 0) lines.push(`  overlapped: ${report.timeline.overlaps.map((o) => `${o.a}∥${o.b}`).join(", ")}`);
    if (report.comparison) lines.push(...formatComparison(report.comparison).split("\n").map((l) => `  ${l}`));
  } else {
    lines.push(`${report.plan ?? "(no plan)"} — ${report.outcome.replace("_", " ")} (thread ${report.threadId})`);
    for (const p of report.problems) lines.push(`  ✗ ${p}`);
    for (const c of report.planner?.closest ?? []) if (report.outcome === "planning_failed") lines.push(`  closest workflow: ${c.id} — ${c.name} (score ${c.score})`);
  }
  const tokens = report.usage.reduce((s, u) => s + u.input_tokens + u.output_tokens, 0);
  if (report.usage.length > 0) lines.push(`  model: ${report.usage.length} call(s), ${tokens} tokens, ${formatUsd(report.usage.reduce((s, u) => s + u.usd, 0))}`);
  lines.push(`  planner: ${report.planner?.kind ?? "none"}${report.planner?.workflow ? ` (workflow ${report.planner.workflow.id})` : report.planner?.model ? ` (${report.planner.model})` : ""}`);
  lines.push(`summary: ${report.summary}`);
  return lines.join("\n");
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Live progress: on a terminal, one animated line per running step (spinner and elapsed time)
 * under the lines of finished ones; elsewhere, one line per event.
 */
export class LiveProgress {
  private readonly running = new Map<string, { tool: string; since: number }>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: { write(text: string): void; tty: boolean }) {}

  onEvent(event: StepEvent): void {
    if (!this.out.tty) {
      this.out.write(`${renderEvent(event)}\n`);
      return;
    }
    if (event.type === "step_started") this.running.set(event.id, { tool: event.tool, since: Date.now() });
    if (event.type === "step_finished") this.running.delete(event.result.id);
    this.redraw(event.type === "step_started" ? undefined : renderEvent(event));
    if (this.running.size > 0 && !this.timer) {
      this.timer = setInterval(() => this.redraw(), 100);
      this.timer.unref();
    }
    if (this.running.size === 0) this.clearTimer();
  }

  stop(): void {
    this.clearTimer();
    if (this.out.tty && this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private redraw(permanent?: string): void {
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[J` : "";
    if (permanent) text += `${permanent}\n`;
    this.frame = (this.frame + 1) % SPINNER.length;
    const now = Date.now();
    const lines = [...this.running].map(([id, r]) => `  ${SPINNER[this.frame]} ${id} (${r.tool}) ${formatMs(now - r.since)}`);
    text += lines.map((l) => `${l}\n`).join("");
    this.drawn = lines.length;
    this.out.write(text);
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

async function askOnTerminal(request: ApprovalRequest, io: Io): Promise<ApprovalAnswer | undefined> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${request.question} [y/N] `);
    return { approved: /^y(es)?$/i.test(answer.trim()) };
  } catch {
    io.err("no answer");
    return undefined;
  } finally {
    rl.close();
  }
}

/** How to continue a request thread from the command line. */
export function resumeHint(threadId: string): string {
  return `credit-optimizer resume ${threadId}`;
}

async function askBudgetOnTerminal(message: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${message}. Go on? [y/N] `)).trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

function answerFlag(approve: boolean | undefined, reject: boolean | undefined): boolean | undefined {
  if (approve && reject) throw new UsageError("--approve and --reject contradict each other");
  return approve ? true : reject ? false : undefined;
}

function parseBudget(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/^\$/, ""));
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--budget must be a non-negative amount in USD, got "${value}"`);
  return n;
}

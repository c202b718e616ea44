import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline/promises";
import type { Report } from "../../agents/types.ts";
import type { AppConfig } from "../config.ts";
import { exitCodeOf } from "../engine/report.ts";
import { formatProblem, validatePlan } from "../plan/validate.ts";
import { drive, resume, type DriveResult, type RunInput, type RunQuestion } from "../run/drive.ts";
import { openRoot, type Root, type RootOptions } from "../run/root.ts";
import { answerFlag, parseBudget, parseCount, parseParams, parseScheduler, readPlanFile, UsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";
import { askPlannerQuestions, askWorkflowChoice, plannerQuestions, workflowChoices } from "./questions.ts";
import { renderPlanningFailure, renderReport } from "./render.ts";
import { terminalClient } from "./terminal.ts";
import { instantiateWorkflow } from "./workflows.ts";

/** Where the run's state lives and which MCP servers it uses (every run command takes these). */
export interface StateOptions {
  mcpConfig?: string;
  checkpointer?: string;
  concurrency?: string;
}

export interface RunOptions extends StateOptions {
  plan?: string;
  workflow?: string;
  param?: string[];
  yes?: boolean;
  allowDestructive?: boolean;
  dryRun?: boolean;
  json?: boolean;
  budget?: string;
  fresh?: boolean;
  session?: string;
  thread?: string;
  scheduler?: string;
  breakBefore?: string[];
  /** A run queue (redis://…): the run goes to the workers; `wait` follows it. */
  queue?: string;
  wait?: boolean;
}

/**
 * `run "<request>"`, `run --plan <file>`, `run --workflow <id>` and `plan …`: one pipeline. A request
 * goes to the architect; a plan or a workflow straight to the credit-validator; then approval,
 * execution and the report, on a thread of its own. `plan` stops after the forecast; `plan --json`
 * prints the whole plan, ready for `run --plan`.
 */
export async function runCommand(mode: "run" | "plan", words: string[], options: RunOptions, config: AppConfig, io: Io): Promise<number> {
  const input = await runInput(mode, words, options);
  const json = options.json ?? false;
  const queue = mode === "run" ? (options.queue ?? config.queueUrl) : undefined;
  if (queue) return (await import("./queued.ts")).queuedRunCommand(input, options.thread, queue, options, config, io);
  return withRoot(config, options, io, async (root) => {
    let threadId = options.thread ?? `run-${randomUUID()}`;
    let params = input.params ?? {};
    let pickedWorkflow: string | undefined;
    const asking = !json && process.stdin.isTTY === true;
    for (;;) {
      if (!json) io.err(`thread ${threadId} (resume with: credit-optimizer resume ${threadId})`);
      const client = terminalClient({ io, json });
      let result: DriveResult;
      try {
        result = await drive(root, threadId, { ...input, params, pickedWorkflow }, client);
      } finally {
        client.close();
      }
      if (mode === "plan" && json && result.kind === "finished" && result.state.prepared) {
        io.out(JSON.stringify(result.state.prepared.plan, null, 2));
        return EXIT.ok;
      }
      // On a terminal the planner's "did you mean" and its questions are asked here; elsewhere they
      // are printed with the --workflow or --param that answers each (exit 2).
      const choices = asking && pickedWorkflow === undefined ? workflowChoices(result) : [];
      if (choices.length > 0 && result.kind === "finished") {
        io.err(renderPlanningFailure(result.report, { asking: true }));
        pickedWorkflow = await onTerminal((read) => askWorkflowChoice(choices, read, io));
        if (pickedWorkflow === undefined) {
          io.err("no workflow picked: nothing planned");
          return EXIT.badInput;
        }
        threadId = `run-${randomUUID()}`;
        continue;
      }
      const questions = asking ? plannerQuestions(result) : [];
      const report = result.kind === "finished" ? result.report : undefined;
      const answers = questions.length > 0 && report ? await onTerminal((read) => askPlannerQuestions(questions, report, read, io)) : undefined;
      if (!answers) return finish(result, threadId, json, io);
      params = { ...params, ...answers };
      threadId = `run-${randomUUID()}`;
    }
    // A run needs its servers: they start first, all at once, while the state opens and the plan is made.
  }, { catalog: input.dryRun ? "pinned" : "live", connectNow: !input.dryRun });
}

/** Asks on the terminal (stdin, prompts on stderr); the end of input answers nothing. */
async function onTerminal<T>(ask: (read: (prompt: string) => Promise<string | undefined>) => Promise<T>): Promise<T> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await ask((prompt) => rl.question(prompt).catch(() => undefined));
  } finally {
    rl.close();
  }
}

export async function runInput(mode: "run" | "plan", words: string[], options: RunOptions): Promise<RunInput> {
  const request = words.join(" ").trim();
  const given = [request && "a request", options.plan && "--plan", options.workflow && "--workflow"].filter(Boolean);
  if (given.length > 1) throw new UsageError(`${mode} takes one of a request, --plan <file> or --workflow <id>; got ${given.join(" and ")}`);
  if (given.length === 0) {
    throw new UsageError(`${mode} needs a request in quotes, --plan <plan.json> or --workflow <id>: credit-optimizer ${mode} "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis"`);
  }
  const common: RunInput = {
    session: options.session,
    budgetUsd: parseBudget(options.budget),
    dryRun: mode === "plan" || (options.dryRun ?? false),
    autoApprove: options.yes ?? false,
    allowDestructive: options.allowDestructive ?? false,
    fresh: options.fresh ?? false,
    ...breakpoints(options),
    mcpConfigPath: options.mcpConfig,
  };
  const params = parseParams(options.param);
  if (options.plan) return { ...common, plan: await readPlanFile(options.plan), params, planner: { kind: "file", reason: `read from ${options.plan}` } };
  if (options.workflow) {
    const { plan, template } = instantiateWorkflow(options.workflow, params);
    const filled = Object.keys(params);
    return { ...common, plan, planner: { kind: "workflow", workflow: { id: template.id, name: template.name, score: 1, matched: [] }, filled: filled.map((k) => `${k}=${JSON.stringify(params[k])}`), reason: `workflow "${template.id}"` } };
  }
  return { ...common, request, params };
}

/**
 * `--break-before a,b`: the steps to pause before. A breakpoint is LangGraph's `interruptBefore` on a
 * step node of the plan's own graph, so it implies `--scheduler graph` (another scheduler is an error).
 */
function breakpoints(options: Pick<RunOptions, "breakBefore" | "scheduler">): Pick<RunInput, "scheduler" | "breakBefore"> {
  const breakBefore = [...new Set((options.breakBefore ?? []).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean))];
  if (breakBefore.length === 0) return { scheduler: parseScheduler(options.scheduler) };
  if (options.scheduler !== undefined && options.scheduler !== "graph") {
    throw new UsageError(`--break-before pauses before a step node of the plan's own graph: it runs with --scheduler graph, not ${options.scheduler}`);
  }
  return { scheduler: "graph", breakBefore };
}

/**
 * `resume <thread>`: every kind of thread. An approval or budget question waiting is answered with
 * `--approve`/`--reject` (or asked on a terminal); a run paused at a breakpoint goes on (`--reject`
 * stops it and rolls back, as Ctrl-C does); a killed run goes on without calling finished steps again; a stopped run runs again; a finished run prints its report.
 */
export async function resumeCommand(
  threadId: string,
  options: StateOptions & { approve?: boolean; reject?: boolean; json?: boolean; queue?: string; wait?: boolean },
  config: AppConfig,
  io: Io,
): Promise<number> {
  const queue = options.queue ?? config.queueUrl;
  if (queue) return (await import("./queued.ts")).queuedResumeCommand(threadId, queue, options, config, io);
  const approved = answerFlag(options.approve, options.reject);
  const json = options.json ?? false;
  return withRoot(config, options, io, async (root) => {
    if (!options.mcpConfig) root.useMcpConfig(await storedMcpConfig(root, threadId));
    if (!json) io.err(`thread ${threadId}`);
    const client = terminalClient({ io, json, answer: approved === undefined ? undefined : { approved } });
    try {
      return finish(await resume(root, threadId, client, approved === undefined ? undefined : { approved }), threadId, json, io);
    } finally {
      client.close();
    }
  });
}

/** `validate <plan.json>`: every problem with its step and field, the implied edges, what needs approval. 0 valid, 2 invalid. */
export async function validateCommand(file: string, options: StateOptions & { param?: string[] }, config: AppConfig, io: Io): Promise<number> {
  const plan = await readPlanFile(file);
  return withRoot(config, options, io, async (root) => {
    const ctx = await root.context();
    const result = validatePlan(plan, { tools: ctx.caller.tools, params: parseParams(options.param), allow: ctx.allow, untrusted: ctx.untrusted });
    for (const note of result.ok ? result.prepared.notes : result.notes) io.out(`note: ${note}`);
    if (!result.ok) {
      io.err(`${file}: ${result.problems.length} problem(s):`);
      for (const p of result.problems) io.err(`  - ${formatProblem(p)}`);
      return EXIT.badInput;
    }
    const { prepared } = result;
    if (prepared.needsApproval.length > 0) io.out(`needs approval (may destroy data): ${prepared.needsApproval.join(", ")}`);
    for (const note of prepared.atCallTime) io.out(`decided at call time: ${note}`);
    io.out(`${file}: valid — ${prepared.order.length} steps`);
    return EXIT.ok;
  }, { catalog: "pinned" });
}

/** Opens the one root for a command, reports servers pinned on first use, and always closes it. */
export async function withRoot(config: AppConfig, options: StateOptions, io: Io, fn: (root: Root) => Promise<number>, extra: Pick<RootOptions, "catalog" | "connectNow"> = {}): Promise<number> {
  const rootOptions: RootOptions = {
    ...extra,
    checkpointer: options.checkpointer,
    mcpConfigPath: options.mcpConfig,
    concurrency: parseCount("--concurrency", options.concurrency),
    onNewPin: (pin) => io.err(`trusted MCP server "${pin.server}" on first use: ${pin.command}`),
  };
  const root = await openRoot(config, rootOptions);
  try {
    return await fn(root);
  } finally {
    await root.close();
  }
}

/** How a run ended, here or on a worker. */
export type RunEnding = { kind: "finished"; report: Report } | { kind: "waiting"; question: RunQuestion };

/** Prints what a drive ended with and returns the exit code. */
export function finish(result: RunEnding, threadId: string, json: boolean, io: Io): number {
  if (result.kind === "waiting") {
    const breakpoint = result.question.kind === "breakpoint";
    if (json) io.out(JSON.stringify({ threadId, outcome: breakpoint ? "paused_at_breakpoint" : "waiting_for_approval", question: result.question }, null, 2));
    else if (breakpoint) io.err(`paused: go on with credit-optimizer resume ${threadId}, or stop and roll back with credit-optimizer resume ${threadId} --reject`);
    else io.err(`waiting for approval: credit-optimizer resume ${threadId} --approve (or --reject)`);
    return EXIT.waiting;
  }
  const report = result.report;
  if (report.status === "cancelled" && !json) io.err(`stopped and rolled back; the thread is resumable: credit-optimizer resume ${threadId}`);
  io.out(json ? JSON.stringify(report, null, 2) : renderReport(report));
  return exitCodeOfReport(report);
}

/** 0 succeeded or planned, 1 run failed or declined, 2 bad input (no valid plan, over a hard cap). */
export function exitCodeOfReport(report: Report): number {
  switch (report.outcome) {
    case "executed":
      return report.status === "not_run" ? EXIT.failed : exitCodeOf(report.status);
    case "planned":
      return EXIT.ok;
    case "declined":
      return EXIT.failed;
    case "planning_failed":
    case "preflight_failed":
    case "rejected":
      return EXIT.badInput;
  }
}

/** The MCP config file a thread was started with, so it reconnects the same servers. */
async function storedMcpConfig(root: Root, threadId: string): Promise<string | undefined> {
  const tuple = await root.checkpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
  const stored = tuple?.checkpoint.channel_values["mcpConfigPath"];
  return typeof stored === "string" ? stored : undefined;
}

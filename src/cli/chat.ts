import { randomUUID } from "node:crypto";
import { createInterface, type Interface } from "node:readline";
import { agentThread, checkpointMemory, type MemoryMessage } from "../../agents/memory.ts";
import type { ApprovalAnswer } from "../../agents/types.ts";
import type { AppConfig } from "../config.ts";
import { describeModel } from "../models/describe.ts";
import { drive, type DriveResult, type RunQuestion } from "../run/drive.ts";
import { parseBudget } from "./args.ts";
import { EXIT, type Io } from "./io.ts";
import { askPlannerQuestions, askWorkflowChoice, plannerQuestions, workflowChoices } from "./questions.ts";
import { renderPlanningFailure } from "./render.ts";
import { finish, withRoot, type StateOptions } from "./run.ts";
import { terminalClient } from "./terminal.ts";

/** Rounds of questions one turn may ask before it prints what is still missing. */
const MAX_QUESTION_ROUNDS = 3;

/** Reads lines one at a time, in order, whether stdin is a terminal or a script. */
class LineReader {
  private readonly lines: string[] = [];
  private readonly waiting: ((line: string | undefined) => void)[] = [];
  private closed = false;

  constructor(readonly rl: Interface) {
    rl.on("line", (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
      else this.lines.push(line);
    });
    rl.on("close", () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w(undefined);
    });
  }

  /** The next line, or undefined at the end of input. */
  next(prompt: string): Promise<string | undefined> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift());
    if (this.closed) return Promise.resolve(undefined);
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/**
 * `chat [--session NAME] [--yes]`: request → the plan's steps live as the model writes them → plan
 * table with forecast → approve / edit / cancel → live progress → report, in a loop, through the same
 * pipeline as `run`. The agents keep their threads per session (`<session>/architect` …), so
 * `chat --session work` continues a conversation after a restart.
 *
 * How a turn runs: by default chat asks before every run, so nothing starts while the plan streams
 * (starting would make the question moot). `:auto` at the prompt runs each plan as `run` does —
 * asking only when it is over the approval threshold or destructive — and so steps start while the
 * plan streams, under `run`'s rules; `--yes` starts the chat that way and also approves budgets, as
 * `run --yes` does; `:ask` goes back to asking. A toggle rather than only a flag: a person usually
 * wants to watch the first plans of a session before letting the next ones run, without restarting.
 *
 * Ctrl-C during a turn — while the plan streams or while it runs — stops the model call and the run,
 * rolls back what started and leaves the run's thread resumable; the chat goes on. At the prompt it ends the chat.
 */
export async function chatCommand(options: StateOptions & { session: string; budget?: string; history?: boolean; yes?: boolean }, config: AppConfig, io: Io): Promise<number> {
  const budgetUsd = parseBudget(options.budget);
  return withRoot(config, options, io, async (root) => {
    if (options.history) {
      const turns = await checkpointMemory(root.checkpointer.saver).load(agentThread(options.session, "architect"));
      io.out(renderHistory(options.session, turns));
      return EXIT.ok;
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
    // On a terminal readline sees Ctrl-C as a key: pass it on as the signal a running request listens to.
    rl.on("SIGINT", () => {
      if (process.listenerCount("SIGINT") > 0) process.kill(process.pid, "SIGINT");
      else rl.close();
    });
    const reader = new LineReader(rl);
    const planner = config.model ? `model ${describeModel(config.model)}` : "catalog planner (no model configured)";
    // Runs without asking first (`:auto`, `--yes`): steps may start while the plan streams.
    let auto = options.yes === true;
    io.err(`credit-optimizer chat — session "${options.session}", ${planner}. Type a request; ${auto ? '":ask" to approve each plan first' : '":auto" to run plans without asking first'}; "exit" to leave.`);
    let last: number = EXIT.ok;
    try {
      let pending: string | undefined;
      for (;;) {
        const line = pending ?? (await reader.next("> "));
        pending = undefined;
        if (line === undefined || /^(exit|quit|:q)$/i.test(line.trim())) break;
        const request = line.trim();
        if (!request) continue;
        if (/^:(auto|ask)$/i.test(request)) {
          auto = request.toLowerCase() === ":auto";
          io.err(auto
            ? "runs each plan without asking first, as run does (it still asks when a plan is over the approval threshold or destructive); steps start while the plan streams. \":ask\" to approve each plan first"
            : "asks before each run again (nothing starts while the plan streams)");
          continue;
        }
        let edit: string | undefined;
        const ask = async (question: RunQuestion): Promise<ApprovalAnswer | undefined> => {
          if (question.kind === "budget") return { approved: /^(y|yes|a|approve)$/i.test((await reader.next(`${question.question} [y/N] `))?.trim() ?? "") };
          for (;;) {
            const answer = (await reader.next(`${question.question} [a]pprove / [e]dit / [c]ancel: `))?.trim().toLowerCase();
            if (answer === undefined) return undefined;
            if (/^(a|approve|y|yes)$/.test(answer)) return { approved: true };
            if (/^(c|cancel|n|no)$/.test(answer)) return { approved: false, note: "cancelled in chat" };
            if (/^(e|edit)$/.test(answer)) {
              edit = (await reader.next("what should change? "))?.trim();
              return { approved: false, note: edit ? `edited: ${edit}` : "edit without a change" };
            }
            io.err("answer a (approve), e (edit) or c (cancel)");
          }
        };
        // A plan that needs answers asks them here and plans the same turn again with them (a few rounds at most).
        let params: Record<string, unknown> = {};
        let pickedWorkflow: string | undefined;
        for (let round = 0; ; round++) {
          const threadId = `run-${randomUUID()}`;
          const client = terminalClient({ io, json: false, ask });
          let result: DriveResult;
          try {
            result = await drive(root, threadId, { request, params, pickedWorkflow, session: options.session, confirm: !auto, autoApprove: auto && options.yes === true, budgetUsd, mcpConfigPath: options.mcpConfig }, client);
          } finally {
            client.close();
          }
          // "Did you mean": the workflows that came close, numbered; the pick plans this request with it.
          const choices = pickedWorkflow === undefined ? workflowChoices(result) : [];
          if (choices.length > 0 && result.kind === "finished") {
            io.err(renderPlanningFailure(result.report, { asking: true }));
            pickedWorkflow = await askWorkflowChoice(choices, (prompt) => reader.next(prompt), io);
            if (pickedWorkflow === undefined) {
              io.err("skipped: no plan this turn");
              break;
            }
            continue;
          }
          const questions = plannerQuestions(result);
          if (questions.length === 0 || round >= MAX_QUESTION_ROUNDS || result.kind !== "finished") {
            last = finish(result, threadId, false, io);
            break;
          }
          const answers = await askPlannerQuestions(questions, result.report, (prompt) => reader.next(prompt), io);
          if (!answers) {
            io.err("skipped: no plan this turn");
            break;
          }
          params = { ...params, ...answers };
        }
        if (edit) pending = edit;
      }
    } finally {
      rl.close();
    }
    return last === EXIT.waiting ? EXIT.waiting : EXIT.ok;
  });
}

/** `chat --history`: one line per turn, the request and what the architect made of it. */
export function renderHistory(session: string, messages: readonly MemoryMessage[]): string {
  if (messages.length === 0) return `session "${session}" has no turns yet`;
  const lines: string[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role === "user") {
      lines.push(`${new Date(m.at).toISOString().slice(0, 19).replace("T", " ")}  > ${m.content}`);
      continue;
    }
    let answer = m.content;
    try {
      answer = `plan "${(JSON.parse(m.content) as { name?: string }).name ?? "?"}"${m.memo ? ` (${m.memo.workflows.map((w) => w.id).join(" + ")})` : ""}`;
    } catch {
      answer = m.content.split(/; closest: |\. Offline I can: /)[0]!;
    }
    lines.push(`                     ${answer}`);
  }
  return lines.join("\n");
}

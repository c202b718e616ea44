import { randomUUID } from "node:crypto";
import { createInterface, type Interface } from "node:readline";
import type { ApprovalAnswer, ApprovalRequest } from "../../agents/types.ts";
import type { AppConfig } from "../config.ts";
import { describeModel } from "../models/chat-model.ts";
import { parse, UsageError } from "./args.ts";
import { drive, EXIT, openRequestSession } from "./request.ts";
import type { Io } from "./run.ts";

const CHAT_FLAGS = {
  session: { type: "string" },
  budget: { type: "string" },
  "mcp-config": { type: "string" },
  checkpointer: { type: "string" },
} as const;

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
 * `chat [--session NAME]`: request → plan table with forecast → approve / edit / cancel → live
 * progress → report, in a loop. The agents keep their threads per session (`<session>/architect`
 * …), so `chat --session work` continues a conversation after a restart: "also add a staging
 * branch" refines the previous plan. Ctrl-C during a run stops it, rolls back and leaves the
 * run's thread resumable; at the prompt it ends the chat.
 */
export async function chatCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, CHAT_FLAGS);
  if (positionals.length > 0) throw new UsageError(`chat takes no arguments (got "${positionals.join(" ")}"); type requests at the prompt`);
  const budgetUsd = values.budget === undefined ? undefined : Number(values.budget);
  if (budgetUsd !== undefined && (!Number.isFinite(budgetUsd) || budgetUsd < 0)) throw new UsageError(`--budget must be a non-negative amount in USD, got "${values.budget}"`);
  const sessionName = values.session ?? "default";
  const mcpConfigPath = values["mcp-config"] ?? config.mcpConfigPath;
  const session = await openRequestSession(config, { checkpointer: values.checkpointer, mcpConfigPath });
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  // On a terminal readline sees Ctrl-C as a key: pass it on as the signal a running request listens to.
  rl.on("SIGINT", () => {
    if (process.listenerCount("SIGINT") > 0) process.kill(process.pid, "SIGINT");
    else rl.close();
  });
  const reader = new LineReader(rl);
  const planner = config.model ? `model ${describeModel(config.model)}` : "catalog planner (no model configured)";
  io.err(`credit-optimizer chat — session "${sessionName}", ${planner}. Type a request; "exit" to leave.`);
  let last = EXIT.ok as number;
  try {
    let pending: string | undefined;
    for (;;) {
      const line = pending ?? (await reader.next("> "));
      pending = undefined;
      if (line === undefined || /^(exit|quit|:q)$/i.test(line.trim())) break;
      const request = line.trim();
      if (!request) continue;
      const threadId = `run-${randomUUID()}`;
      let edit: string | undefined;
      const ask = async (approval: ApprovalRequest): Promise<ApprovalAnswer | undefined> => {
        for (;;) {
          const answer = (await reader.next(`${approval.question} [a]pprove / [e]dit / [c]ancel: `))?.trim().toLowerCase();
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
      const askBudget = async (message: string): Promise<boolean> => /^(y|yes|a|approve)$/i.test((await reader.next(`${message}. Go on? [y/N] `))?.trim() ?? "");
      last = await drive(session, { request, session: sessionName, confirm: true, budgetUsd, mcpConfigPath }, threadId, { io, json: false, ask, askBudget });
      if (edit) pending = edit;
    }
  } finally {
    rl.close();
    await session.close();
  }
  return last === EXIT.waiting ? EXIT.waiting : EXIT.ok;
}

import { createInterface } from "node:readline/promises";
import type { ApprovalAnswer } from "../../agents/types.ts";
import { formatMs } from "../cost/format.ts";
import type { StepEvent } from "../engine/step-event.ts";
import type { RunClient, RunQuestion } from "../run/drive.ts";
import type { Io } from "./io.ts";
import { renderEvent, renderPlan, renderPlanStep, renderQuestion } from "./render.ts";

export interface TerminalOptions {
  io: Io;
  json: boolean;
  /** Answers every question this way (`resume --approve|--reject`); else asks on a terminal, else nobody can. */
  answer?: ApprovalAnswer;
  /** Asks each question another way (chat reads the answer from its own input). */
  ask?: (question: RunQuestion) => Promise<ApprovalAnswer | undefined>;
  /** Where live progress goes (default stderr); `tty` animates running steps. */
  progress?: { write(text: string): void; tty: boolean };
}

/**
 * The CLI's side of a run: live progress, the plan and each question printed for people, answers from
 * the flag or the terminal, and Ctrl-C (or SIGTERM): no new step starts, finished steps roll back,
 * the thread stays resumable; a second Ctrl-C also cancels the calls in flight; a third quits at once. `close()` removes the signal handlers.
 */
export function terminalClient(options: TerminalOptions): RunClient & { close(): void } {
  const { io, json } = options;
  const stop = new AbortController();
  const cancel = new AbortController();
  const progress = json ? undefined : new LiveProgress(options.progress ?? { write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true });
  const onSignal = (): void => {
    if (cancel.signal.aborted) process.exit(130);
    if (stop.signal.aborted) {
      io.err("\ncancelling the calls in flight (their servers are told); then rolling back (Ctrl-C again to quit now)");
      cancel.abort();
      return;
    }
    io.err("\nstopping: no new steps start; finished steps are rolled back (Ctrl-C again to cancel the calls in flight)");
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const interactive = !json && process.stdin.isTTY === true;
  const ask = options.ask ?? (interactive ? askOnTerminal : undefined);
  let planShown = false;
  return {
    stopSignal: stop.signal,
    cancelSignal: cancel.signal,
    onEvent: progress ? (event) => progress.onEvent(event) : undefined,
    // The plan's steps as the model writes them (a step started early shows its ▶ line right after).
    onPlanStep: progress ? (step) => progress.line(renderPlanStep(step)) : undefined,
    onPlanned: json
      ? undefined
      : (state) => {
          planShown = true;
          io.err(renderPlan(state));
        },
    answer: async (question) => {
      progress?.stop();
      // The approval's reasons are the budget lines just printed with the plan: the question alone follows.
      if (!json) io.err(planShown && question.kind === "approval" ? renderQuestion({ ...question, reasons: [] }) : renderQuestion(question));
      if (options.answer) return options.answer;
      return ask?.(question);
    },
    close() {
      progress?.stop();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

async function askOnTerminal(question: RunQuestion): Promise<ApprovalAnswer | undefined> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // At a breakpoint going on is the usual answer (Enter); anything but yes elsewhere declines.
    if (question.kind === "breakpoint") {
      const answer = await rl.question("go on? [Y/n] (n stops the run and rolls back) ");
      return { approved: !/^n(o)?$/i.test(answer.trim()) };
    }
    const answer = await rl.question(`${question.question} [y/N] `);
    return { approved: /^y(es)?$/i.test(answer.trim()) };
  } catch {
    return undefined;
  } finally {
    rl.close();
  }
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Live progress: on a terminal, one animated line per running step (spinner and elapsed time)
 * under the lines of finished ones; elsewhere, one line per event.
 */
export class LiveProgress {
  private readonly running = new Map<string, { tool: string; since: number; progress?: string }>();
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: { write(text: string): void; tty: boolean }) {}

  onEvent(event: StepEvent): void {
    if (!this.out.tty) {
      this.out.write(`${renderEvent(event)}\n`);
      return;
    }
    if (event.type === "step_progress") {
      // On a terminal, progress updates the step's running line instead of adding lines.
      const running = this.running.get(event.id);
      if (running) running.progress = renderEvent(event).replace(`  … ${event.id} `, "");
      this.redraw();
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

  /** A permanent line above the running steps' animated lines (or just a line off a terminal). */
  line(text: string): void {
    if (this.out.tty) this.redraw(text);
    else this.out.write(`${text}\n`);
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
    const lines = [...this.running].map(([id, r]) => `  ${SPINNER[this.frame]} ${id} (${r.tool}) ${formatMs(now - r.since)}${r.progress ? ` ${r.progress}` : ""}`);
    text += lines.map((l) => `${l}\n`).join("");
    this.drawn = lines.length;
    this.out.write(text);
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

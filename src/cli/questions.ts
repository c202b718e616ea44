import type { Report, WorkflowChoice } from "../../agents/types.ts";
import type { PlannerQuestion } from "../planner/index.ts";
import type { DriveResult } from "../run/drive.ts";
import { parseParams } from "./args.ts";
import type { Io } from "./io.ts";

/** The planner's questions a finished drive stopped at (a plan needs answers first); empty otherwise. */
export function plannerQuestions(result: DriveResult): PlannerQuestion[] {
  if (result.kind !== "finished" || result.report.outcome !== "planning_failed") return [];
  return result.report.planner?.missing ?? [];
}

/**
 * Asks the planner's questions one by one (chat's input, or the terminal for `run`): a number picks
 * one of the listed choices, anything else is the value, typed as `--param` would type it. Undefined
 * when the person gives no answer (an empty line or the end of input): the turn ends there.
 */
export async function askPlannerQuestions(
  questions: readonly PlannerQuestion[],
  report: Pick<Report, "planner">,
  read: (prompt: string) => Promise<string | undefined>,
  io: Io,
): Promise<Record<string, unknown> | undefined> {
  const name = report.planner?.workflows?.map((w) => w.name).join(" + ") ?? report.planner?.workflow?.name;
  io.err(`to plan${name ? ` "${name}"` : " that"} I need ${questions.length === 1 ? "one answer" : `${questions.length} answers`} (an empty line skips the turn):`);
  const values: Record<string, unknown> = {};
  for (const q of questions) {
    if (Object.hasOwn(values, q.param)) continue;
    const choices = q.choices.map((c, i) => `${i + 1}) ${c.label}`).join("  ");
    const answer = (await read(`? ${q.question} ${q.detail}.${choices ? ` ${choices}` : ""} `))?.trim();
    if (!answer) return undefined;
    const picked = /^\d+$/.test(answer) ? q.choices[Number(answer) - 1] : undefined;
    Object.assign(values, parseParams([`${q.param}=${picked ? picked.value : answer}`]));
  }
  return values;
}

/** "Did you mean": the workflows a finished drive offers when no template matched well enough; empty otherwise. */
export function workflowChoices(result: DriveResult): WorkflowChoice[] {
  if (result.kind !== "finished" || result.report.outcome !== "planning_failed") return [];
  if ((result.report.planner?.missing?.length ?? 0) > 0) return [];
  return result.report.planner?.choices ?? [];
}

/**
 * Asks which of the offered workflows was meant (they are listed just above, numbered): a number or
 * an id picks one; undefined when the person gives no answer (an empty line or the end of input).
 */
export async function askWorkflowChoice(choices: readonly WorkflowChoice[], read: (prompt: string) => Promise<string | undefined>, io: Io): Promise<string | undefined> {
  for (;;) {
    const answer = (await read(`? which one (1-${choices.length} or its id; an empty line skips the turn) `))?.trim();
    if (!answer) return undefined;
    const picked = /^\d+$/.test(answer) ? choices[Number(answer) - 1] : choices.find((c) => c.id === answer.toLowerCase());
    if (picked) return picked.id;
    io.err(`answer 1-${choices.length} or one of ${choices.map((c) => c.id).join(", ")}`);
  }
}

import type { z } from "zod";
import type { WorkflowTemplate } from "../workflows/types.ts";
import { RESOURCE_LABEL, type InventoryResource, type ResourceKind } from "./inventory.ts";

/** What the planner asks instead of failing or guessing: one parameter, why, and what would answer it. */
export interface PlannerQuestion {
  workflow: string;
  /** The template's parameter. */
  param: string;
  question: string;
  /** Why it is asked: missing, ambiguous, matched nothing, or an invalid value. */
  why: "missing" | "ambiguous" | "not_found" | "invalid";
  detail: string;
  /** Values that would answer it (existing resources), best first; empty when anything goes. */
  choices: { value: string; label: string }[];
  example: string;
  /** The command-line flag that sets it: `--param project_id=prj-123`. */
  flag: string;
}

const EXAMPLES: Record<string, string> = {
  pr_number: "42",
  project: "my-app",
  version: "1.2.0",
  tenants: "3",
};

export function question(
  template: WorkflowTemplate,
  param: string,
  why: PlannerQuestion["why"],
  detail: string,
  kind?: ResourceKind,
  choices: readonly InventoryResource[] = [],
): PlannerQuestion {
  const schema = (template.params.shape as Record<string, z.ZodType>)[param];
  const what = kind ? RESOURCE_LABEL[kind] : (schema?.description ?? param.replace(/_/g, " "));
  const listed = choices.slice(0, 8).map((c) => ({ value: c.id, label: c.name === c.id ? c.name : `${c.name} (${c.id})` }));
  const example = listed[0]?.value ?? EXAMPLES[param] ?? (kind ? `${kind.split("_")[0]}-abc123` : "value");
  const asked = why === "ambiguous" ? `Which ${what} do you mean?` : why === "invalid" ? `What should ${param} be instead?` : `Which ${what} (${param})?`;
  return { workflow: template.id, param, question: asked, why, detail, choices: listed, example, flag: `--param ${param}=${example}` };
}

/** One line per question, for a terminal or a chat turn. */
export function formatQuestion(q: PlannerQuestion): string {
  const options = q.choices.length > 0 ? ` Choices: ${q.choices.map((c) => c.label).join(", ")}.` : "";
  return `${q.question} ${q.detail}.${options} Answer with ${q.flag}`;
}

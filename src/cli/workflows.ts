import type { z } from "zod";
import type { AppConfig } from "../config.ts";
import { criticalPath, levels } from "../plan/dag.ts";
import type { Plan } from "../plan/schema.ts";
import { formatProblem, validatePlan } from "../plan/validate.ts";
import { getWorkflow, instantiate, isWorkflowParamsError, WORKFLOW_CATEGORIES, workflows } from "../workflows/index.ts";
import type { WorkflowTemplate } from "../workflows/types.ts";
import { UsageError } from "./args.ts";
import type { Io } from "./io.ts";

/** `workflows` lists the templates by category; `workflows show <id>` prints one. */
export async function workflowsCommand(sub: string | undefined, id: string | undefined, options: { json?: boolean }, _config: AppConfig, io: Io): Promise<number> {
  if (sub === undefined) {
    io.out(options.json ? JSON.stringify(workflows.map(summary), null, 2) : renderCatalog());
    return 0;
  }
  if (sub !== "show") throw new UsageError(`unknown workflows command "${sub}": use "workflows" or "workflows show <id>"`);
  if (id === undefined) throw new UsageError("workflows show needs a workflow id: credit-optimizer workflows show <id>");
  const template = requireWorkflow(id);
  io.out(options.json ? JSON.stringify(describeWorkflow(template), null, 2) : renderWorkflow(template));
  return 0;
}

/** `run --workflow <id> --param k=v …`: the template's plan with its parameters filled. */
export function instantiateWorkflow(id: string, values: Record<string, unknown>): { plan: Plan; template: WorkflowTemplate } {
  const template = requireWorkflow(id);
  try {
    return { plan: instantiate(template, values), template };
  } catch (error) {
    if (isWorkflowParamsError(error)) throw new UsageError(error.message);
    throw error;
  }
}

export interface ParamInfo {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

export interface WorkflowDescription {
  id: string;
  name: string;
  category: string;
  description: string;
  tags: string[];
  examples: string[];
  params: ParamInfo[];
  steps: { id: string; tool: string; dependencies: string[]; estimateMs: number; estimateUsd: number }[];
  levels: string[][];
  criticalPath: { steps: string[]; ms: number };
  estimate: { ms: number; sequentialMs: number; usd: number };
}

/** Parameters, DAG (levels and critical path by estimates) and the estimate of a template's default plan. */
export function describeWorkflow(template: WorkflowTemplate): WorkflowDescription {
  const validation = validatePlan({ ...template.plan, params: placeholderParams(template) });
  if (!validation.ok) throw new Error(`workflow "${template.id}" has an invalid plan: ${validation.problems.map(formatProblem).join("; ")}`);
  const { plan, order, deps } = validation.prepared;
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const ms = (id: string): number => byId.get(id)?.estimate?.ms ?? 0;
  const path = criticalPath(order, deps, ms);
  return {
    id: template.id,
    name: template.name,
    category: template.category,
    description: template.description,
    tags: template.tags,
    examples: template.examples,
    params: paramInfo(template),
    steps: order.map((id) => ({ id, tool: byId.get(id)!.tool, dependencies: deps[id] ?? [], estimateMs: ms(id), estimateUsd: byId.get(id)?.estimate?.usd ?? 0 })),
    levels: levels(order, deps),
    criticalPath: { steps: path.path, ms: path.ms },
    estimate: {
      ms: path.ms,
      sequentialMs: order.reduce((sum, id) => sum + ms(id), 0),
      usd: round(plan.steps.reduce((sum, s) => sum + (s.estimate?.usd ?? 0), 0)),
    },
  };
}

export function paramInfo(template: WorkflowTemplate): ParamInfo[] {
  return Object.entries(template.params.shape as Record<string, z.ZodType>).map(([name, schema]) => {
    const fallback = schema.safeParse(undefined);
    return {
      name,
      type: typeName(schema),
      required: !fallback.success,
      ...(fallback.success ? { default: fallback.data } : {}),
      description: schema.description ?? "",
    };
  });
}

function requireWorkflow(id: string): WorkflowTemplate {
  const template = getWorkflow(id);
  if (!template) throw new UsageError(`no workflow "${id}" (known: ${workflows.map((w) => w.id).join(", ")})`);
  return template;
}

/** Every declared parameter with some value, so that a plan with required parameters validates for display. */
function placeholderParams(template: WorkflowTemplate): Record<string, unknown> {
  return Object.fromEntries(paramInfo(template).map((p) => [p.name, p.required ? `<${p.name}>` : p.default]));
}

function summary(template: WorkflowTemplate): { id: string; name: string; category: string; steps: number; description: string } {
  return { id: template.id, name: template.name, category: template.category, steps: template.plan.steps.length, description: template.description };
}

function renderCatalog(): string {
  const lines: string[] = [];
  const width = Math.max(...workflows.map((w) => w.id.length));
  for (const category of WORKFLOW_CATEGORIES) {
    const inCategory = workflows.filter((w) => w.category === category);
    lines.push(`${category} (${inCategory.length})`);
    for (const w of inCategory) lines.push(`  ${w.id.padEnd(width)}  ${String(w.plan.steps.length).padStart(2)} steps  ${w.name}`);
    lines.push("");
  }
  lines.push(`${workflows.length} workflows. Details: credit-optimizer workflows show <id> · run: credit-optimizer run --workflow <id> --param k=v`);
  return lines.join("\n");
}

function renderWorkflow(template: WorkflowTemplate): string {
  const d = describeWorkflow(template);
  const lines = [`${d.name} (${d.id}) — ${d.category}`, `  ${d.description}`, "", "Parameters:"];
  if (d.params.length === 0) lines.push("  (none)");
  for (const p of d.params) {
    const value = p.required ? "required" : p.default === undefined ? "optional" : `default ${JSON.stringify(p.default)}`;
    lines.push(`  --param ${p.name}=<${p.type}>  ${value}${p.description ? ` — ${p.description}` : ""}`);
  }
  lines.push("", "Steps:");
  const width = Math.max(...d.steps.map((s) => s.id.length));
  for (const s of d.steps) {
    const after = s.dependencies.length ? ` after ${s.dependencies.join(", ")}` : "";
    lines.push(`  ${s.id.padEnd(width)}  ${s.tool}${after}  (~${seconds(s.estimateMs)})`);
  }
  lines.push("  On failure, finished steps that created something are undone (the delete call their tool returns: only what this run created).");
  lines.push("", "DAG levels (steps of one level run in parallel):");
  d.levels.forEach((level, i) => lines.push(`  ${i}: ${level.join(", ")}`));
  lines.push(
    "",
    `Critical path: ${d.criticalPath.steps.join(" → ")} (~${seconds(d.criticalPath.ms)})`,
    `Estimate: ~${seconds(d.estimate.ms)} in parallel vs ~${seconds(d.estimate.sequentialMs)} one step at a time, ~$${d.estimate.usd.toFixed(2)}`,
  );
  if (template.build) lines.push("", "The steps depend on the parameters; shown for the defaults.");
  lines.push("", "Example requests:", ...d.examples.map((e) => `  "${e}"`));
  return lines.join("\n");
}

function typeName(schema: z.ZodType): string {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; options?: z.ZodType[]; entries?: Record<string, string> } } })._zod.def;
  if ((def.type === "default" || def.type === "optional") && def.innerType) return typeName(def.innerType);
  if (def.type === "enum" && def.entries) return Object.values(def.entries).join("|");
  if (def.type === "union" && def.options) return def.options.map(typeName).join("|");
  if (def.type === "array") return "json list";
  return def.type;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

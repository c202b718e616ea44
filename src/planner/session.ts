import type { PlanInput } from "../plan/schema.ts";
import type { InventoryResource, ResourceKind } from "./inventory.ts";
import type { PlanMemo } from "./types.ts";

/** A resource an earlier run of the session made: what "tear it down" or "that database" points at. */
export interface SessionResource extends InventoryResource {
  kind: ResourceKind;
}

/**
 * Which output fields of a create tool name what it made. Only ids and names are kept: outputs also
 * hold passwords and connection strings, which never go into a session thread.
 */
const CREATES: Record<string, { kind: ResourceKind; id: string; name: string }> = {
  neon_create_project: { kind: "neon_project", id: "project_id", name: "name" },
  neon_create_branch: { kind: "neon_branch", id: "branch_id", name: "name" },
  upstash_create_database: { kind: "redis_database", id: "database_id", name: "database_name" },
  vercel_create_project: { kind: "vercel_project", id: "project_id", name: "name" },
  fly_create_app: { kind: "fly_app", id: "app_name", name: "app_name" },
  // A deployment is named after its project (run-inventory.ts puts the project's name on it).
  vercel_deploy: { kind: "vercel_deployment", id: "deployment_id", name: "project_id" },
  github_create_repo: { kind: "github_repo", id: "full_name", name: "name" },
  delegate_code_generation: { kind: "workspace_project", id: "project", name: "project" },
};

/** The resources a run's succeeded steps created, read from their outputs. */
export function createdResources(steps: readonly { tool: string; status: string; output?: unknown }[], run: string): SessionResource[] {
  const out: SessionResource[] = [];
  for (const step of steps) {
    if (step.status !== "succeeded" || !step.output || typeof step.output !== "object") continue;
    const spec = CREATES[step.tool.slice(step.tool.lastIndexOf(".") + 1)];
    if (!spec) continue;
    const output = step.output as Record<string, unknown>;
    const id = output[spec.id];
    if (typeof id !== "string" || !id) continue;
    const name = typeof output[spec.name] === "string" ? (output[spec.name] as string) : id;
    out.push({ kind: spec.kind, id, name, run });
  }
  return out;
}

/** "it", "that database", "the same project", "those": the turn points at something said or made before. */
const REFERENCE = /\b(it|its|that|this|them|those|these|the same|earlier|previous|last one)\b/i;
/** "run it again", "once more", "redo": the last plan, unchanged. */
const AGAIN = /\b(again|once more|re-?run|redo|repeat)\b/i;

export function refersBack(request: string): boolean {
  return REFERENCE.test(request);
}

export function asksAgain(request: string): boolean {
  return AGAIN.test(request);
}

/**
 * What changed between two plans, one line per change, for a refinement: templates added or dropped,
 * parameters changed, steps added or removed.
 */
export function planChanges(before: { memo?: PlanMemo; plan?: PlanInput }, after: { memo?: PlanMemo; plan?: PlanInput }): string[] {
  const lines: string[] = [];
  const was = new Map((before.memo?.workflows ?? []).map((w) => [w.id, w.values]));
  const now = new Map((after.memo?.workflows ?? []).map((w) => [w.id, w.values]));
  for (const id of now.keys()) if (!was.has(id)) lines.push(`+ workflow ${id}`);
  for (const id of was.keys()) if (!now.has(id)) lines.push(`- workflow ${id}`);
  for (const [id, values] of now) {
    const old = was.get(id);
    if (!old) continue;
    for (const key of new Set([...Object.keys(old), ...Object.keys(values)])) {
      const a = JSON.stringify(old[key]);
      const b = JSON.stringify(values[key]);
      if (a === b) continue;
      lines.push(a === undefined ? `+ ${key} = ${b}` : b === undefined ? `- ${key} (was ${a})` : `~ ${key}: ${a} → ${b}`);
    }
  }
  if (before.plan && after.plan) {
    // Composing renames steps (create_project → neon_create_project): a step is the same when its tool is, its id preferred.
    const old = [...before.plan.steps];
    const added: { id: string; tool: string }[] = [];
    for (const step of after.plan.steps) {
      const at = old.findIndex((o) => o.tool === step.tool && o.id === step.id);
      const same = at >= 0 ? at : old.findIndex((o) => o.tool === step.tool);
      if (same >= 0) old.splice(same, 1);
      else added.push(step);
    }
    for (const s of added) lines.push(`+ step ${s.id} (${s.tool})`);
    for (const s of old) lines.push(`- step ${s.id} (${s.tool})`);
  }
  if (!before.memo && !after.memo && before.plan && after.plan) {
    // A model's plan has no memo: compare the plan parameters.
    const a = (before.plan.params ?? {}) as Record<string, unknown>;
    const b = (after.plan.params ?? {}) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) lines.push(`~ ${key}: ${JSON.stringify(a[key]) ?? "(unset)"} → ${JSON.stringify(b[key]) ?? "(unset)"}`);
    }
  }
  return lines;
}

/** The delete call a create step returned (`rollback` in its output): how to undo what it made. */
export interface UndoCall {
  step: string;
  /** The agent the create step ran as: its allow-list permits the delete too. */
  agent?: string;
  tool: string;
  params: Record<string, unknown>;
}

/** The undo calls of a run's succeeded steps, last made first. */
export function undoCalls(steps: readonly { id: string; tool: string; status: string; output?: unknown }[], agents: Readonly<Record<string, string | undefined>> = {}): UndoCall[] {
  const out: UndoCall[] = [];
  for (const step of steps) {
    const rollback = step.status === "succeeded" && step.output && typeof step.output === "object" ? (step.output as { rollback?: unknown }).rollback : undefined;
    if (!rollback || typeof rollback !== "object") continue;
    const { tool, arguments: args } = rollback as { tool?: unknown; arguments?: unknown };
    if (typeof tool !== "string" || !args || typeof args !== "object") continue;
    const dot = step.tool.lastIndexOf(".");
    out.push({ step: step.id, ...(agents[step.id] ? { agent: agents[step.id] } : {}), tool: dot > 0 ? `${step.tool.slice(0, dot)}.${tool}` : tool, params: args as Record<string, unknown> });
  }
  return out.reverse();
}

/** "tear it down", "delete that", "undo it", "clean everything up": remove what was made. */
const TEARDOWN = /\b(tear\w*\s+(?:\w+\s+)?down|destroy|delete|remove|undo|clean\s*(?:\w+\s+)?up|get rid of|decommission)\b/i;

export function asksTeardown(request: string): boolean {
  return TEARDOWN.test(request) && (REFERENCE.test(request) || /\beverything|all of it\b/i.test(request));
}

/** The name of the plan that undoes one run: it carries the run id, so a later turn knows that run is gone. */
export function teardownName(plan: string, runId: string): string {
  return `Tear down ${plan} (${runId})`;
}

/** A plan that undoes a run: its create steps' own delete calls, one after another, last made first. */
export function teardownPlan(plan: string, runId: string, undo: readonly UndoCall[]): PlanInput {
  return {
    name: teardownName(plan, runId),
    description: `Deletes what ${runId} created, with the delete calls its create steps returned`,
    steps: undo.map((u, i) => ({ id: `undo_${u.step}`, ...(u.agent ? { agent: u.agent } : {}), tool: u.tool, dependencies: i > 0 ? [`undo_${undo[i - 1]!.step}`] : [], params: u.params })),
  };
}

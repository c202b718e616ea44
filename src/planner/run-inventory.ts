import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type { Ledger } from "../cost/ledger.ts";
import type { InventoryLookup, InventoryResource, ResourceKind } from "./inventory.ts";
import { createdResources } from "./session.ts";

/** One resource an earlier run made, and whether a later run (or a rollback) removed it. */
export interface InventoryEntry extends InventoryResource {
  kind: ResourceKind;
  run: string;
  /** The plan of the run that made it. */
  plan?: string;
  /** When that run started (epoch ms). */
  at: number;
  /** The run, and its step, that deleted it; absent while it exists. */
  goneBy?: string;
  /** The project a deployment or a branch belongs to (its id). */
  project?: string;
}

/** What the inventory reads of one run: its steps' outputs and which of them a rollback undid. */
export interface RunSteps {
  runId: string;
  plan?: string;
  at: number;
  steps: readonly { id: string; tool: string; status: string; output?: unknown }[];
  /** Steps whose compensation succeeded: what they made is gone. */
  undone: readonly string[];
}

/**
 * Which output field of a delete tool names what it deleted, and the kinds that go with it: a
 * project's deployments and branches go with the project.
 */
const DELETES: Record<string, { field: string; kinds: ResourceKind[] }> = {
  neon_delete_project: { field: "project_id", kinds: ["neon_project"] },
  neon_delete_branch: { field: "branch_id", kinds: ["neon_branch"] },
  upstash_delete_database: { field: "database_id", kinds: ["redis_database"] },
  vercel_delete_project: { field: "project_id", kinds: ["vercel_project"] },
  fly_delete_app: { field: "app_name", kinds: ["fly_app"] },
  github_delete_repo: { field: "full_name", kinds: ["github_repo"] },
};

const toolName = (tool: string): string => tool.slice(tool.lastIndexOf(".") + 1);

/**
 * The resources earlier runs made, oldest run first, each marked gone once a later run deleted it
 * (or the run's own rollback undid it). Ids and names only: outputs also hold passwords and
 * connection strings, which never leave here. A project's later deployment replaces its earlier one.
 */
export function inventoryOf(runs: readonly RunSteps[]): InventoryEntry[] {
  const entries: InventoryEntry[] = [];
  const gone = (kinds: readonly ResourceKind[], match: (e: InventoryEntry) => boolean, by: string): void => {
    for (const e of entries) if (!e.goneBy && kinds.includes(e.kind) && match(e)) e.goneBy = by;
  };
  for (const run of runs) {
    const ok = run.steps.filter((s) => s.status === "succeeded");
    for (const step of ok) {
      const output = step.output && typeof step.output === "object" ? (step.output as Record<string, unknown>) : undefined;
      for (const r of createdResources([step], run.runId)) {
        // Made again (an idempotent create that found it): one entry, the first run that made it.
        const again = entries.find((e) => e.kind === r.kind && e.id === r.id && !e.goneBy);
        if (again && r.kind !== "vercel_deployment") continue;
        const entry: InventoryEntry = { ...r, run: run.runId, at: run.at, ...(run.plan ? { plan: run.plan } : {}) };
        if (r.kind === "neon_branch" && typeof output?.project_id === "string") entry.project = output.project_id;
        if (r.kind === "vercel_deployment") {
          const project = entries.find((e) => e.kind === "vercel_project" && !e.goneBy && e.id === r.name);
          gone(["vercel_deployment"], (e) => e.project === r.name, `${run.runId}:${step.id}`);
          entry.project = r.name;
          if (project) entry.name = project.name;
        }
        if (run.undone.includes(step.id)) entry.goneBy = `${run.runId}:rollback of ${step.id}`;
        entries.push(entry);
      }
      const del = DELETES[toolName(step.tool)];
      const target = output?.[del?.field ?? ""];
      if (!del || typeof target !== "string") continue;
      const by = `${run.runId}:${step.id}`;
      // Vercel deletes take an id or a name.
      gone(del.kinds, (e) => e.id === target || (e.kind === "vercel_project" && e.name === target), by);
      if (del.kinds.includes("vercel_project")) {
        const projects = new Set(entries.filter((e) => e.kind === "vercel_project" && (e.id === target || e.name === target)).map((e) => e.id));
        gone(["vercel_deployment"], (e) => e.project !== undefined && projects.has(e.project), by);
      }
      if (del.kinds.includes("neon_project")) gone(["neon_branch"], (e) => e.project === target, by);
    }
  }
  // A deployment goes with its project, whichever way the project went (a delete, a rollback).
  for (const d of entries.filter((e) => e.kind === "vercel_deployment" && !e.goneBy)) {
    const project = entries.find((e) => e.kind === "vercel_project" && e.id === d.project);
    if (project?.goneBy) d.goneBy = project.goneBy;
  }
  return entries;
}

/** Where the run inventory reads from: the ledger's runs, and each run's checkpointed state. */
export interface InventorySources {
  ledger: Pick<Ledger, "runs">;
  saver: Pick<BaseCheckpointSaver, "getTuple">;
}

interface CheckpointedRun {
  results?: Record<string, { id: string; tool: string; status: string; output?: unknown } | undefined> | null;
  compensations?: { step: string; status: string }[];
  prepared?: { plan?: { name?: string } };
}

/** Every recorded run's steps, oldest first: the run list from the ledger, the outputs from the checkpointer. */
export async function readRuns(sources: InventorySources): Promise<RunSteps[]> {
  const runs = await sources.ledger.runs();
  const out: RunSteps[] = [];
  for (const run of runs) {
    const tuple = await sources.saver.getTuple({ configurable: { thread_id: run.runId, checkpoint_ns: "" } });
    const values = (tuple?.checkpoint.channel_values ?? {}) as CheckpointedRun;
    const steps = Object.values(values.results ?? {}).filter((s): s is NonNullable<typeof s> => s !== undefined);
    if (steps.length === 0) continue;
    const undone = (values.compensations ?? []).filter((c) => c.status === "succeeded").map((c) => c.step);
    out.push({ runId: run.runId, plan: run.plan || values.prepared?.plan?.name, at: run.startedAt, steps, undone });
  }
  return out;
}

/** The inventory as the planner's lookup, plus every entry (gone ones too) for `credit-optimizer resources`. */
export interface RunInventory {
  lookup: InventoryLookup;
  entries(): Promise<InventoryEntry[]>;
}

/**
 * The inventory of what earlier runs made. Calls made together (the planner asks for every kind at
 * once) share one read; a later call reads again, so a run that finished in between is seen.
 */
export function runInventory(sources: InventorySources): RunInventory {
  let reading: Promise<InventoryEntry[]> | undefined;
  const entries = (): Promise<InventoryEntry[]> => {
    if (!reading) {
      reading = readRuns(sources).then(inventoryOf);
      void reading.finally(() => setImmediate(() => (reading = undefined))).catch(() => {});
    }
    return reading;
  };
  return {
    entries,
    lookup: async (kind) =>
      (await entries())
        .filter((e) => e.kind === kind && !e.goneBy)
        .reverse()
        .map(({ id, name, run }) => ({ id, name, run })),
  };
}

/** The list tool that says what exists now, per kind, and the field of its items that holds the id. */
export const LIST_TOOLS: Partial<Record<ResourceKind, { tool: string; items: string; id: string; args?: Record<string, unknown> }>> = {
  neon_project: { tool: "neon_list_projects", items: "projects", id: "project_id" },
  redis_database: { tool: "upstash_list_databases", items: "databases", id: "database_id" },
  vercel_project: { tool: "vercel_list_projects", items: "projects", id: "project_id" },
  vercel_deployment: { tool: "vercel_list_deployments", items: "deployments", id: "deployment_id" },
  fly_app: { tool: "fly_list_apps", items: "apps", id: "app_name" },
  github_repo: { tool: "github_list_repos", items: "repos", id: "full_name" },
};

/** An entry as `resources --check` shows it: still there, deleted by a run, or no longer at the provider. */
export interface CheckedEntry extends InventoryEntry {
  status: "exists" | "gone" | "missing" | "unchecked";
  /** Why it could not be checked (no list tool for the kind, the list call failed). */
  detail?: string;
}

/**
 * The inventory held against what the providers list now: an entry a run did not delete but the
 * provider no longer lists is `missing` (deleted by hand, say). One list call per kind; `call`
 * calls a toolkit tool and returns its structured output.
 */
export async function checkInventory(entries: readonly InventoryEntry[], call: (tool: string, args: Record<string, unknown>) => Promise<unknown>): Promise<CheckedEntry[]> {
  const kinds = [...new Set(entries.filter((e) => !e.goneBy).map((e) => e.kind))];
  const listed = new Map<ResourceKind, { ids?: Set<string>; error?: string }>();
  await Promise.all(
    kinds.map(async (kind) => {
      const spec = LIST_TOOLS[kind];
      if (!spec) return void listed.set(kind, { error: "no list tool for this kind" });
      try {
        const output = (await call(spec.tool, spec.args ?? {})) as Record<string, unknown> | undefined;
        const items = Array.isArray(output?.[spec.items]) ? (output![spec.items] as Record<string, unknown>[]) : [];
        listed.set(kind, { ids: new Set(items.map((i) => String(i[spec.id]))) });
      } catch (error) {
        listed.set(kind, { error: `${spec.tool} failed: ${error instanceof Error ? error.message : String(error)}` });
      }
    }),
  );
  return entries.map((e): CheckedEntry => {
    if (e.goneBy) return { ...e, status: "gone" };
    const list = listed.get(e.kind);
    if (!list?.ids) return { ...e, status: "unchecked", ...(list?.error ? { detail: list.error } : {}) };
    return { ...e, status: list.ids.has(e.id) ? "exists" : "missing" };
  });
}

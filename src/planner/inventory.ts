import SearchableMap from "minisearch/SearchableMap";
import type { z } from "zod";
import type { WorkflowTemplate } from "../workflows/types.ts";
import { maxEdits, words } from "./text.ts";

/**
 * Existing resources, for requests that name them instead of typing ids ("back up the billing
 * database"). The planner does not know where they live: the caller injects a lookup (the
 * composition root's reads what earlier runs created and deleted, see run-inventory.ts); tests pass
 * a fake.
 */
export type ResourceKind = "neon_project" | "neon_branch" | "redis_database" | "vercel_project" | "vercel_deployment" | "fly_app" | "github_repo" | "workspace_project";

export const RESOURCE_KINDS: readonly ResourceKind[] = ["neon_project", "neon_branch", "redis_database", "vercel_project", "vercel_deployment", "fly_app", "github_repo", "workspace_project"];

export interface InventoryResource {
  id: string;
  name: string;
  /** The run that created it, when known (shown in questions). */
  run?: string;
}

/** Lists the resources of one kind. Rejections are reported as questions, never thrown past the planner. */
export type InventoryLookup = (kind: ResourceKind) => Promise<InventoryResource[]>;

export const RESOURCE_LABEL: Record<ResourceKind, string> = {
  neon_project: "Neon project",
  neon_branch: "Neon branch",
  redis_database: "Upstash Redis database",
  vercel_project: "Vercel project",
  vercel_deployment: "Vercel deployment",
  fly_app: "Fly.io app",
  github_repo: "GitHub repository",
  workspace_project: "workspace project",
};

/**
 * The kind of resource a template parameter holds, read from its description ("Neon project to back
 * up", "Upstash Redis database of the preview"): the templates already say it for people, and a test
 * holds every id parameter of the library to a kind.
 */
export function resourceKindOf(template: WorkflowTemplate, param: string, provider?: unknown): ResourceKind | undefined {
  const schema = (template.params.shape as Record<string, z.ZodType>)[param];
  const text = `${schema?.description ?? ""}`;
  if (/project folder inside the workspace/i.test(text)) return "workspace_project";
  if (!/_id$/.test(param)) return undefined;
  // "its Vercel project id, or its Fly.io app name": the template's `provider` says which.
  if (/vercel/i.test(text) && /fly\.io app/i.test(text)) {
    const fly = (provider ?? templateDefault(template, "provider")) === "fly";
    return fly ? "fly_app" : /vercel deployment/i.test(text) ? "vercel_deployment" : "vercel_project";
  }
  if (/vercel deployment/i.test(text)) return "vercel_deployment";
  if (/vercel project/i.test(text)) return "vercel_project";
  if (/neon branch/i.test(text)) return "neon_branch";
  if (/neon project/i.test(text)) return "neon_project";
  if (/upstash|redis/i.test(text)) return "redis_database";
  if (/fly/i.test(text)) return "fly_app";
  return undefined;
}

function templateDefault(template: WorkflowTemplate, param: string): unknown {
  const schema = (template.params.shape as Record<string, z.ZodType>)[param];
  const parsed = schema?.safeParse(undefined);
  return parsed?.success ? parsed.data : undefined;
}

/** Words in a resource's name that say nothing about which one it is. */
const GENERIC = new Set(["db", "database", "cache", "redis", "app", "project", "deployment", "env", "service", "kv", "the", "my"]);

export type Resolution =
  | { kind: "one"; resource: InventoryResource; words: string[] }
  /** Several fit equally well, or only partly: the user picks. */
  | { kind: "choose"; choices: InventoryResource[] }
  | { kind: "none"; existing: InventoryResource[] };

/**
 * Which existing resource the request means, by the words of its name found in the request (typos
 * within one or two edits). A resource is picked alone only when every distinctive word of its name
 * is in the request and no other fits as well; partial fits become choices.
 */
export function resolveResource(request: string, resources: readonly InventoryResource[], whole = false): Resolution {
  const said = new SearchableMap<true>();
  for (const w of words(request)) said.set(w.raw.replace(/'s$/, ""), true);
  const heard = (word: string): boolean => said.has(word) || (word.length >= 5 && said.fuzzyGet(word, maxEdits(word.length)).size > 0);
  const scored = resources.map((resource) => {
    // A workspace folder is named as a whole ("api"); a cloud resource by its distinctive words ("billing" of billing-db).
    const parts = whole ? [resource.name.toLowerCase()] : resource.name.toLowerCase().split(/[^a-z0-9]+/).filter((p) => p && !GENERIC.has(p));
    const hit = parts.filter(heard);
    return { resource, hit, full: parts.length > 0 && hit.length === parts.length };
  });
  const fitting = scored.filter((s) => s.hit.length > 0).sort((a, b) => Number(b.full) - Number(a.full) || b.hit.length - a.hit.length);
  const best = fitting[0];
  if (!best) return { kind: "none", existing: [...resources] };
  const tied = fitting.filter((s) => s.full === best.full && s.hit.length === best.hit.length);
  if (best.full && tied.length === 1) return { kind: "one", resource: best.resource, words: best.hit };
  return { kind: "choose", choices: (best.full ? tied : fitting).map((s) => s.resource) };
}

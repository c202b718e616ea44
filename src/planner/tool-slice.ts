import { AGENT_INSTANCE_PREFIX, type ToolInfo } from "../mcp/catalog.ts";
import type { WorkflowTemplate } from "../workflows/types.ts";
import { extractEntities } from "./entities.ts";
import { DEFAULT_MATCH_THRESHOLD, rankWorkflows, type WorkflowMatch } from "./match.ts";
import { terms } from "./text.ts";

/** Why a tool is in the slice the model is shown. */
export type SliceReason = "template" | "provider" | "word" | "earlier";

export interface ToolSlice {
  tools: ToolInfo[];
  /** `server.tool` → why it was picked. */
  why: Record<string, SliceReason>;
  /** The templates whose tools were taken (the model's example is the first). */
  templates: WorkflowMatch[];
  /** True when nothing matched and the whole catalog is sent. */
  whole: boolean;
}

/** Templates whose tools are taken: the best, and a second one only if it also matches well. */
const TEMPLATE_COUNT = 2;
/** Name words that say nothing about what a request needs ("create" is in half the tools). */
const GENERIC = new Set(["create", "get", "set", "run", "list", "delet", "delete", "toolkit", "workspac", "workspace", "call", "find", "count", "database", "deploy", "project", "app", "connect", "string", "remot", "remote"]);
const PROVIDER_PREFIXES = new Set(["neon", "upstash", "vercel", "fly", "github"]);
const REMOVING = /\b(delete|remove|destroy|tear\s*down|drop|clean\s*up|close)\b/i;
/** A request about what exists: only then does a named provider bring its list tools (a set-up does not list). */
const ASKING_WHAT_EXISTS = /\b(list|lists|listing|show|which|what|exist|exists|existing|check|status|health|inventory|find|all my)\b/i;

const fullName = (t: ToolInfo): string => `${t.server}.${t.name}`;

/**
 * The part of the catalog a request can need, so the model is not sent ~9,000 tokens of tools it will
 * not use: the tools of the best-matching templates' plans (steps and rollbacks), the tools of the
 * providers the request names (their delete tools only when it asks to remove something, their list
 * tools only when it asks what exists), tools whose
 * name shares a meaningful word with the request ("lint" → run_lint), and every tool an earlier plan of
 * the session used. With no match at all the whole catalog goes, so an unusual request still plans.
 */
export function sliceTools(
  request: string,
  tools: readonly ToolInfo[],
  options: { templates?: readonly WorkflowTemplate[]; earlierTools?: readonly string[] } = {},
): ToolSlice {
  const loaded = tools.filter((t) => !t.server.startsWith(AGENT_INSTANCE_PREFIX));
  const why: Record<string, SliceReason> = {};
  const pick = (t: ToolInfo, reason: SliceReason): void => {
    why[fullName(t)] ??= reason;
  };
  const byName = (ref: string): ToolInfo | undefined => loaded.find((t) => fullName(t) === ref) ?? loaded.find((t) => t.name === ref);

  const removing = REMOVING.test(request);
  const providers = new Set<string>(extractEntities(request).flatMap((e) => (e.kind === "provider" ? [e.value] : [])));
  // A template offers every provider it can deploy on ("fly" or "vercel"); a request that names its providers gets only theirs.
  const otherProvider = (t: ToolInfo): boolean => {
    const prefix = t.name.split("_")[0] ?? "";
    return providers.size > 0 && PROVIDER_PREFIXES.has(prefix) && !providers.has(prefix);
  };
  const ranked = options.templates ? rankWorkflows(request, options.templates) : [];
  const templates = ranked.filter((m) => m.score >= DEFAULT_MATCH_THRESHOLD).slice(0, TEMPLATE_COUNT);
  for (const match of templates) {
    const template = options.templates!.find((w) => w.id === match.id);
    for (const step of template?.plan.steps ?? []) {
      for (const ref of [step.tool, step.rollback?.tool]) {
        const hit = ref ? byName(ref) : undefined;
        if (hit && !otherProvider(hit)) pick(hit, "template");
      }
    }
  }

  const listing = ASKING_WHAT_EXISTS.test(request);
  for (const t of loaded) {
    const prefix = t.name.split("_")[0] ?? "";
    if (providers.has(prefix) && (removing || !/_delete_|_close_/.test(t.name)) && (listing || !/_list_/.test(t.name))) pick(t, "provider");
  }

  const asked = new Set(terms(request).filter((w) => !GENERIC.has(w)));
  for (const t of loaded) {
    if ((!removing && /_delete_|_close_/.test(t.name)) || otherProvider(t)) continue;
    // A provider's name is not a word match: the provider rule above decides which of its tools go.
    if (terms(t.name.replace(/_/g, " ")).some((w) => !GENERIC.has(w) && !PROVIDER_PREFIXES.has(w) && asked.has(w))) pick(t, "word");
  }

  for (const ref of options.earlierTools ?? []) {
    const hit = byName(ref);
    if (hit) pick(hit, "earlier");
  }

  const picked = loaded.filter((t) => why[fullName(t)] !== undefined);
  if (picked.length === 0) return { tools: loaded, why: {}, templates, whole: true };
  return { tools: picked, why, templates, whole: false };
}

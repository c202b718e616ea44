import type { z } from "zod";
import type { WorkflowTemplate } from "../workflows/types.ts";
import type { Entity } from "./entities.ts";
import { DEPLOY_PROVIDERS } from "./lexicon.ts";
import type { Span } from "./text.ts";

/**
 * Entities mapped onto one template's typed parameters. Only values the request states are set
 * here; the template's schema supplies the defaults later, so an explicit value can never be
 * replaced by one.
 */

export type ParamSource = "request" | "inventory" | "default" | "answer" | "previous";

export interface ParamValue {
  workflow: string;
  name: string;
  value: unknown;
  source: ParamSource;
  /** Where in the request it came from. */
  span?: Span;
  text?: string;
  /** Why this reading, when another was close. */
  note?: string;
}

type Shape = Record<string, z.ZodType>;

interface Def {
  type: string;
  innerType?: z.ZodType;
  entries?: Record<string, string>;
  options?: z.ZodType[];
}

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (["default", "optional", "nullable", "prefault"].includes(def(current).type) && def(current).innerType) current = def(current).innerType!;
  return current;
}

function enumOptions(schema: z.ZodType): string[] {
  const inner = def(unwrap(schema));
  return inner.type === "enum" && inner.entries ? Object.values(inner.entries) : [];
}

function typeOf(schema: z.ZodType): string {
  return def(unwrap(schema)).type;
}

/** Name parameters, the main one first, so a name without a noun lands on the thing the template makes. */
const NAME_ORDER = ["name", "app_name", "project_name", "repo_name", "project", "database_name", "label", "branch_name"];

const OTHER_NAME = /(^|_)(name|app|project|service|repo|repository)(_|$)|name$/;

/** Names that go here only when the noun says so ("a database named shop", "a branch named x"). */
const SECONDARY = new Set(["database_name", "label", "branch_name"]);

/** Which parameters a name given to a noun goes to, best first. */
const NOUN_KEYS: Record<string, string[]> = {
  project: ["project_name", "project", "app_name", "repo_name", "name"],
  app: ["app_name", "project_name", "project", "name", "repo_name"],
  service: ["app_name", "project_name", "project", "name", "repo_name"],
  repository: ["repo_name", "project", "name"],
  platform: ["name", "app_name", "project_name"],
  database: ["database_name", "project_name"],
  redis: ["database_name", "app_name"],
  branch: ["branch_name", "branch"],
};

export interface Filled {
  values: ParamValue[];
  notes: string[];
}

/** The parameter values the entities give this template, each with its source span. */
export function fillParams(template: WorkflowTemplate, entities: readonly Entity[]): Filled {
  const shape = template.params.shape as Shape;
  const keys = Object.keys(shape);
  const out = new Map<string, ParamValue>();
  const notes: string[] = [];
  const set = (name: string, value: unknown, from: { span: Span; text: string }, note?: string): void => {
    if (out.has(name) || !keys.includes(name)) return;
    out.set(name, { workflow: template.id, name, value, source: "request", span: from.span, text: from.text, note });
    if (note) notes.push(`${template.id}.${name}: ${note}`);
  };

  for (const e of entities) if (e.kind === "assignment" && keys.includes(e.key)) set(e.key, coerce(shape[e.key]!, e.value), e);

  fillNames(template, entities, shape, set, notes);

  for (const e of entities) {
    switch (e.kind) {
      case "number":
        if (e.role === "pull_request") set("pr_number", e.value, e);
        if (e.role === "count") set("tenants", e.value, e);
        break;
      case "list":
        set("tenants", e.value, e);
        break;
      case "version":
        set("version", e.value, e, e.note);
        break;
      case "duration":
        set("timeout_ms", e.value, e);
        break;
      case "title":
        set("title", e.value, e);
        break;
      case "label":
        set("label", e.value, e);
        break;
      case "flag":
        set(e.role, e.value, e);
        break;
      case "target":
        if (shape.target && enumOptions(shape.target).includes(e.value)) set("target", e.value, e);
        break;
      case "id":
        for (const key of keys.filter((k) => k.endsWith("_id") && !out.has(k))) {
          set(key, e.value, e);
          break;
        }
        break;
      default:
        break;
    }
  }
  fillBranches(entities, keys, set);
  fillRegion(entities, shape, set);
  fillProvider(template, entities, shape, set);
  return { values: [...out.values()], notes };
}

type Setter = (name: string, value: unknown, from: { span: Span; text: string }, note?: string) => void;

function fillNames(template: WorkflowTemplate, entities: readonly Entity[], shape: Shape, set: Setter, notes: string[]): void {
  const keys = Object.keys(shape);
  // The known name parameters in their order, then any other text parameter that is a name ("resource_name").
  const nameKeys = [...NAME_ORDER.filter((k) => keys.includes(k)), ...keys.filter((k) => !NAME_ORDER.includes(k) && OTHER_NAME.test(k) && !k.endsWith("_id"))].filter((k) => typeOf(shape[k]!) === "string");
  const used = new Set<string>();
  const names = entities.filter((e): e is Extract<Entity, { kind: "name" }> => e.kind === "name").sort((a, b) => Number(b.explicit) - Number(a.explicit));
  let byNoun: Extract<Entity, { kind: "name" }> | undefined;
  for (const name of names) {
    const preferred = (name.noun ? NOUN_KEYS[name.noun] ?? [] : []).filter((k) => nameKeys.includes(k) && !used.has(k));
    const key = preferred[0] ?? nameKeys.find((k) => !used.has(k) && !SECONDARY.has(k)) ?? nameKeys.find((k) => !used.has(k) && k !== "branch_name");
    if (!key) {
      // Said, but nowhere to put it: say so rather than drop it silently.
      if (name.explicit) notes.push(`${template.id}: the name "${name.value}" fits none of its parameters`);
      continue;
    }
    used.add(key);
    const lower = name.value.toLowerCase();
    const value = key === "database_name" && /-/.test(lower) && !shape[key]!.safeParse(lower).success ? lower.replace(/-/g, "_") : lower === name.value ? name.value : lower;
    set(key, value, name, value !== name.value ? `"${name.value}" written as ${JSON.stringify(value)} (the parameter's spelling)` : undefined);
    if (preferred[0] && name.noun === "database") byNoun = name;
  }
  // "a Neon database called orders": the project the template makes is named after it too.
  const main = nameKeys.find((k) => !SECONDARY.has(k));
  if (byNoun && main && !used.has(main) && shape[main]!.safeParse(byNoun.value.toLowerCase()).success) {
    set(main, byNoun.value.toLowerCase(), byNoun, `the ${template.id} ${main.replace(/_/g, " ")} is named after the database "${byNoun.value}"`);
  }
}

function fillBranches(entities: readonly Entity[], keys: string[], set: Setter): void {
  const branches = entities.filter((e): e is Extract<Entity, { kind: "branch" }> => e.kind === "branch");
  for (const b of branches) {
    if (b.role === "base") set(keys.includes("base") ? "base" : "from", b.value, b);
    else if (keys.includes("head")) set("head", b.value, b);
    else if (keys.includes("branch")) set("branch", b.value, b);
    else if (keys.includes("branch_name")) set("branch_name", b.value, b);
  }
}

function fillRegion(entities: readonly Entity[], shape: Shape, set: Setter): void {
  const regions = entities.filter((e): e is Extract<Entity, { kind: "region" }> => e.kind === "region");
  const region = regions[0];
  if (!region || !shape.region) return;
  const fly = /fly/i.test(shape.region.description ?? "");
  const value = fly ? region.value.fly : region.value.upstash;
  const other = fly ? region.value.upstash : region.value.fly;
  if (value) set("region", value, region, value.toLowerCase() !== region.text.toLowerCase() ? `"${region.text}" is ${value} in ${fly ? "Fly.io" : "Upstash"}'s spelling` : undefined);
  else if (other) set("region", other, region, `"${region.text}" has no ${fly ? "Fly.io" : "Upstash"} spelling known here; passed as typed`);
}

/** "Fly.io deployment" → provider fly: the deploy target the request names. */
function fillProvider(template: WorkflowTemplate, entities: readonly Entity[], shape: Shape, set: Setter): void {
  if (!shape.provider) return;
  const options = enumOptions(shape.provider);
  const named = entities.filter((e): e is Extract<Entity, { kind: "provider" }> => e.kind === "provider" && options.includes(e.value) && DEPLOY_PROVIDERS.includes(e.value));
  if (named.length === 0) return;
  const deploying = named.filter((e) => e.deploy);
  const pick = deploying[0] ?? named[0]!;
  const others = [...new Set(named.map((e) => e.value))].filter((p) => p !== pick.value);
  const note =
    others.length > 0
      ? `deploys on ${pick.value} ("${pick.text}" ${deploying.length ? "is where it deploys" : "comes first"}; ${others.join(", ")} also named)`
      : pick.typo
        ? `"${pick.text}" read as ${pick.value}`
        : undefined;
  set("provider", pick.value, pick, note);
  void template;
}

/** A `key=value` typed in the request, as the parameter's type wants it. */
function coerce(schema: z.ZodType, raw: string): unknown {
  const type = typeOf(schema);
  if (type === "number" && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (type === "boolean" && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === "true";
  if (type === "union" || type === "array") {
    try {
      return JSON.parse(raw);
    } catch {
      return /^\d+$/.test(raw) ? Number(raw) : raw;
    }
  }
  return raw;
}

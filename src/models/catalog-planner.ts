import type { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import type { WorkflowTemplate } from "../workflows/types.ts";

/**
 * The embedded default planner: no model, no network. It ranks the workflow templates against the
 * request (names, tags, descriptions, example requests), picks the best one, and fills its
 * parameters from the request (quoted names, "called X", regions, enum values) and defaults.
 */

/** The workflow library the planner ranks: its templates and how one becomes a plan. */
export interface WorkflowLibrary {
  workflows: readonly WorkflowTemplate[];
  instantiate(template: WorkflowTemplate, values: Record<string, unknown>): PlanInput;
}

export interface WorkflowMatch {
  id: string;
  name: string;
  /** 0…1: how well the template answers the request. */
  score: number;
  /** Request words found in the template. */
  matched: string[];
}

export type CatalogPlan =
  | {
      ok: true;
      plan: PlanInput;
      workflow: WorkflowMatch;
      /** Parameter values used (request and defaults). */
      values: Record<string, unknown>;
      /** Which parameters came from the request, and from where. */
      filled: string[];
      /** The runners-up, best first. */
      closest: WorkflowMatch[];
    }
  | { ok: false; message: string; closest: WorkflowMatch[] };

/** Below this score no template is close enough to plan with. */
export const DEFAULT_MATCH_THRESHOLD = 0.3;

const STOPWORDS = new Set(
  "a an and the to for of on in with using use set up setup please me my our i we it this that some new want need can you also then into from by at as be is are get make let".split(" "),
);

const SYNONYMS: Record<string, string> = {
  db: "database",
  dbs: "database",
  postgresql: "postgres",
  pg: "postgres",
  deployment: "deploy",
  deploying: "deploy",
  deployed: "deploy",
  deploys: "deploy",
  repo: "repository",
  repos: "repository",
  cache: "cache",
  caching: "cache",
  tests: "test",
  testing: "test",
  linting: "lint",
  branches: "branch",
  crawl: "crawler",
  crawling: "crawler",
  scraper: "crawler",
};

/** Lowercase words, `fly.io` → `fly`, plural and synonym folding, stopwords dropped. */
export function tokenize(text: string): string[] {
  const words = text
    .toLowerCase()
    .replace(/\.(io|dev|com|app)\b/g, "")
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const out: string[] = [];
  for (const raw of words) {
    let word = SYNONYMS[raw] ?? raw;
    if (!SYNONYMS[raw] && word.length > 4 && word.endsWith("s") && !/(ss|is|us|os)$/.test(word)) word = SYNONYMS[word.slice(0, -1)] ?? word.slice(0, -1);
    if (!STOPWORDS.has(word)) out.push(word);
  }
  return out;
}

interface Indexed {
  template: WorkflowTemplate;
  fields: { tokens: Set<string>; weight: number }[];
  all: Set<string>;
  examples: Set<string>[];
}

const NAME_WEIGHT = 3;
const TAG_WEIGHT = 3;
const EXAMPLE_WEIGHT = 2;
const DESCRIPTION_WEIGHT = 1.5;

function index(template: WorkflowTemplate): Indexed {
  const examples = template.examples.map((e) => new Set(tokenize(e)));
  const fields = [
    { tokens: new Set(tokenize(`${template.name} ${template.id}`)), weight: NAME_WEIGHT },
    { tokens: new Set(template.tags.flatMap((t) => tokenize(t))), weight: TAG_WEIGHT },
    { tokens: new Set(examples.flatMap((e) => [...e])), weight: EXAMPLE_WEIGHT },
    { tokens: new Set(tokenize(template.description)), weight: DESCRIPTION_WEIGHT },
  ];
  return { template, fields, all: new Set(fields.flatMap((f) => [...f.tokens])), examples };
}

/**
 * Scores every template against the request, best first. The score mixes coverage (request words
 * found in the template, weighted by field and by rarity across the library) with the closest
 * example request (Jaccard similarity of words).
 */
export function rankWorkflows(request: string, templates: readonly WorkflowTemplate[]): WorkflowMatch[] {
  const words = [...new Set(tokenize(request))];
  const indexed = templates.map(index);
  const df = (w: string): number => indexed.filter((t) => t.all.has(w)).length;
  const idf = new Map(words.map((w) => [w, Math.log(1 + templates.length / (1 + df(w)))]));
  const maxTotal = words.reduce((s, w) => s + idf.get(w)! * NAME_WEIGHT, 0);
  const matches = indexed.map((t): WorkflowMatch => {
    let total = 0;
    const matched: string[] = [];
    for (const w of words) {
      const weight = Math.max(0, ...t.fields.filter((f) => f.tokens.has(w)).map((f) => f.weight));
      if (weight > 0) matched.push(w);
      total += idf.get(w)! * weight;
    }
    const coverage = maxTotal > 0 ? total / maxTotal : 0;
    const req = new Set(words);
    const example = Math.max(0, ...t.examples.map((e) => jaccard(req, e)));
    return { id: t.template.id, name: t.template.name, score: round(0.6 * coverage + 0.4 * example), matched };
  });
  return matches.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

/** Picks the best template above the threshold and instantiates it with values from the request. */
export function planFromCatalog(request: string, library: WorkflowLibrary, threshold = DEFAULT_MATCH_THRESHOLD): CatalogPlan {
  const ranked = rankWorkflows(request, library.workflows);
  const best = ranked[0];
  if (!best || best.score < threshold) {
    const closest = ranked.slice(0, 3);
    const list = closest.map((m) => `${m.id} (${m.name}, score ${m.score})`).join(", ");
    return {
      ok: false,
      message: `no workflow matches the request well enough (best score ${best?.score ?? 0} < ${threshold}); closest: ${list || "none"}. Configure a model (OPENAI_API_KEY or OPENAI_BASE_URL) to plan free-form requests.`,
      closest,
    };
  }
  const template = library.workflows.find((t) => t.id === best.id)!;
  const extracted = extractParams(request, template);
  const parsed = template.params.safeParse(extracted.values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(params)"}: ${i.message}`).join("; ");
    return { ok: false, message: `workflow "${template.id}" matches, but its parameters are incomplete: ${problems}`, closest: ranked.slice(0, 3) };
  }
  const values = parsed.data as Record<string, unknown>;
  return { ok: true, plan: library.instantiate(template, values), workflow: best, values, filled: extracted.filled, closest: ranked.slice(1, 4) };
}

export interface ExtractedParams {
  values: Record<string, unknown>;
  filled: string[];
}

const NAME_KEY = /(^|_)(name|app|project|service|repo|repository)(_|$)|name$/i;
const REGION_KEY = /region/i;
const AWS_REGION = /\b((?:us|eu|ap|sa|ca|me|af)-(?:east|west|north|south|central|northeast|southeast|northwest|southwest)-\d)\b/i;
const REGION_WORD = /\bregion\s+["“']?([a-z]{2,4}(?:-[a-z]+-\d)?)\b/i;

/** Values for a template's parameters found in the request; the schema's defaults fill the rest. */
export function extractParams(request: string, template: WorkflowTemplate): ExtractedParams {
  const shape = template.params.shape as Record<string, z.ZodType>;
  const keys = Object.keys(shape);
  const values: Record<string, unknown> = {};
  const filled: string[] = [];

  const names = [...quotedNames(request), ...calledNames(request)].filter((n, i, all) => all.indexOf(n) === i);
  const nameKeys = keys.filter((k) => NAME_KEY.test(k) && acceptsString(shape[k]!)).sort((a, b) => nameRank(a) - nameRank(b));
  names.forEach((name, i) => {
    const key = nameKeys[i];
    if (key === undefined) return;
    values[key] = name;
    filled.push(`${key} = ${JSON.stringify(name)} (named in the request)`);
  });

  const region = AWS_REGION.exec(request)?.[1] ?? REGION_WORD.exec(request)?.[1];
  if (region) {
    for (const key of keys.filter((k) => REGION_KEY.test(k) && !(k in values))) {
      values[key] = region.toLowerCase();
      filled.push(`${key} = ${JSON.stringify(region.toLowerCase())} (region in the request)`);
    }
  }

  const words = new Set(request.toLowerCase().split(/[^a-z0-9-]+/).concat(tokenize(request)));
  for (const key of keys) {
    if (key in values) continue;
    const options = enumOptions(shape[key]!);
    const hits = options.filter((o) => words.has(o.toLowerCase()));
    if (hits.length === 1) {
      values[key] = hits[0];
      filled.push(`${key} = ${JSON.stringify(hits[0])} (mentioned in the request)`);
    }
  }
  return { values, filled };
}

function quotedNames(request: string): string[] {
  const out: string[] = [];
  for (const m of request.matchAll(/(?:^|[\s(:=])["“'‘`]([^"”'’`\n]{1,80})["”'’`]/g)) out.push(m[1]!.trim());
  return out.filter(Boolean);
}

function calledNames(request: string): string[] {
  return [...request.matchAll(/\b(?:called|named)\s+([A-Za-z0-9][\w.-]*[A-Za-z0-9]|[A-Za-z0-9])/gi)].map((m) => m[1]!);
}

/** `name`, then `app_name`/`project_name`…, then the rest, so the first name in the request lands on the main one. */
function nameRank(key: string): number {
  if (key === "name") return 0;
  if (/^(app|project|service)_?name$/i.test(key)) return 1;
  return 2;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema as z.ZodType & { _zod: { def: { type: string; innerType?: z.ZodType } } };
  while (["default", "optional", "nullable", "prefault"].includes(current._zod.def.type) && current._zod.def.innerType) {
    current = current._zod.def.innerType as typeof current;
  }
  return current;
}

function acceptsString(schema: z.ZodType): boolean {
  return unwrap(schema)._zod.def.type === "string";
}

function enumOptions(schema: z.ZodType): string[] {
  const inner = unwrap(schema) as z.ZodType & { options?: unknown };
  if (inner._zod.def.type !== "enum" || !Array.isArray(inner.options)) return [];
  return inner.options.filter((o): o is string => typeof o === "string");
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let both = 0;
  for (const x of a) if (b.has(x)) both++;
  return both / (a.size + b.size - both);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

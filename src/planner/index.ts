import type { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import type { WorkflowTemplate } from "../workflows/types.ts";
import { composePlans } from "./compose.ts";
import { extractEntities, type Entity } from "./entities.ts";
import { fillParams, type ParamValue } from "./fill.ts";
import { RESOURCE_KINDS, RESOURCE_LABEL, resolveResource, resourceKindOf, type InventoryLookup, type InventoryResource, type ResourceKind } from "./inventory.ts";
import { PROVIDER_NAMES, SERVICE_NICKNAMES } from "./lexicon.ts";
import { DEFAULT_MATCH_THRESHOLD, rankWorkflows, type QueryWord, type WorkflowMatch } from "./match.ts";
import { question, type PlannerQuestion } from "./questions.ts";
import { asksAgain, refersBack } from "./session.ts";
import { foldPhrases, normalizeTerm, type Span } from "./text.ts";
import type { OfflinePlan, PlanMemo, Reading, WorkflowLibrary } from "./types.ts";

export type { OfflinePlan, PlanMemo, Reading, WorkflowLibrary } from "./types.ts";
export type { WorkflowMatch } from "./match.ts";
export type { ParamValue, ParamSource } from "./fill.ts";
export type { PlannerQuestion } from "./questions.ts";
export type { InventoryLookup, InventoryResource, ResourceKind } from "./inventory.ts";
export type { Entity } from "./entities.ts";
export { DEFAULT_MATCH_THRESHOLD, rankWorkflows } from "./match.ts";
export { extractEntities } from "./entities.ts";
export { formatQuestion } from "./questions.ts";
export { composePlans } from "./compose.ts";
export { asksAgain, asksTeardown, createdResources, planChanges, refersBack, teardownName, teardownPlan, undoCalls, type SessionResource, type UndoCall } from "./session.ts";

export interface PlanOfflineOptions {
  library: WorkflowLibrary;
  /** Existing resources, for "my billing project"; without it such ids are asked for. */
  inventory?: InventoryLookup;
  /** The session's last plan: a turn that only changes it ("make it eu-central-1") edits it. */
  previous?: PlanMemo;
  /**
   * The session's earlier requests, oldest first, when no memo was kept: they are planned again in
   * order (refinements included) to find the last plan. Ignored when `previous` is given.
   */
  earlier?: readonly string[];
  /** Values set outright (`--param`, answers to the planner's questions): they win over the request's. */
  values?: Record<string, unknown>;
  threshold?: number;
  /** A template the person picked for this request (a "did you mean" choice): planned with it, whatever the scores. */
  workflow?: string;
}

/**
 * The offline planner, the architect's planner when no model is configured: understands the
 * request (entities with their spans), picks one template or composes several, fills their
 * parameters from the request, the injected inventory and the schema's defaults (never over an
 * explicit value), and asks when something required is missing or ambiguous.
 */
export async function planOffline(request: string, options: PlanOfflineOptions): Promise<OfflinePlan> {
  const inventory = memoInventory(options.inventory);
  let previous = options.previous;
  if (!previous && options.earlier?.length) {
    for (const turn of options.earlier) {
      const replayed = await planTurn(turn, { ...options, previous, values: undefined }, inventory);
      if (replayed.kind !== "none") previous = replayed.memo;
    }
  }
  return planTurn(request, { ...options, previous }, inventory);
}

async function planTurn(request: string, options: PlanOfflineOptions, inventory: InventoryLookup | undefined): Promise<OfflinePlan> {
  const threshold = options.threshold ?? DEFAULT_MATCH_THRESHOLD;
  const templates = options.library.workflows;
  const entities = extractEntities(request);
  const known = inventory ? await knownNames(inventory) : [];
  const whole = rankWorkflows(queryOf(request, entities, known), templates);
  const jobs = splitJobs(request, entities, known, whole, templates, threshold);
  const best = whole[0];

  const picked = options.workflow === undefined ? undefined : templates.find((t) => t.id === options.workflow);
  if (picked) {
    const match = whole.find((m) => m.id === picked.id) ?? { id: picked.id, name: picked.name, score: 0, matched: [] };
    const reading: Reading = { kind: "new", reason: `the workflow picked for it: "${picked.id}"` };
    return build(request, [{ template: picked, text: request, entities, match }], whole, options, inventory, reading, {});
  }
  if (options.previous) {
    const turn = await asRefinement(request, entities, jobs, best, threshold, options, inventory);
    if (turn) return turn;
  }
  if (!jobs) {
    const closest = whole.filter((m) => m.score > 0).slice(0, 3);
    const list = closest.map((m) => `${m.id} (${m.name}, score ${m.score})`).join(", ");
    const reason = best && best.score > 0 ? `no workflow matches the request well enough (best score ${best.score} < ${threshold}); closest: ${list}` : "no workflow matches the request";
    return {
      kind: "none",
      message: `${reason}. Offline I can: ${capabilities(templates)}. Configure a model (OPENAI_API_KEY or OPENAI_BASE_URL) to plan free-form requests.`,
      closest,
      reading: { kind: "new", reason: "planned on its own" },
      notes: [],
    };
  }
  const reading: Reading = { kind: "new", reason: options.previous ? "names a job of its own, so it is planned on its own" : "first request" };
  const parts = jobs.map((job) => ({ template: templates.find((t) => t.id === job.match.id)!, text: job.text, entities: job.entities, match: job.match }));
  return build(request, parts, whole, options, inventory, reading, {});
}

interface Job {
  template: WorkflowTemplate;
  text: string;
  entities: Entity[];
  match: WorkflowMatch;
}

async function build(
  request: string,
  jobs: Job[],
  ranked: WorkflowMatch[],
  options: PlanOfflineOptions,
  inventory: InventoryLookup | undefined,
  reading: Reading,
  carried: Record<string, Record<string, unknown>>,
): Promise<OfflinePlan> {
  const params: ParamValue[] = [];
  const notes: string[] = [];
  const questions: PlannerQuestion[] = [];
  const parts: { workflow: string; plan: PlanInput }[] = [];
  const memo: PlanMemo = { request, workflows: [] };
  for (const job of jobs) {
    const filled = fillParams(job.template, job.entities);
    notes.push(...filled.notes);
    const values = new Map<string, ParamValue>();
    for (const [name, value] of Object.entries(carried[job.template.id] ?? {})) values.set(name, { workflow: job.template.id, name, value, source: "previous" });
    for (const v of filled.values) values.set(v.name, v);
    for (const [name, value] of Object.entries(options.values ?? {})) {
      if (Object.hasOwn(job.template.params.shape, name)) values.set(name, { workflow: job.template.id, name, value, source: "answer" });
    }
    await resolveFromInventory(job, values, inventory, questions);
    const shape = job.template.params.shape as Record<string, z.ZodType>;
    const explicit = Object.fromEntries([...values.values()].map((v) => [v.name, v.value]));
    for (const v of values.values()) {
      const check = shape[v.name]!.safeParse(v.value);
      if (!check.success) {
        questions.push(question(job.template, v.name, "invalid", `${JSON.stringify(v.value)}${v.text ? ` (from "${v.text}")` : ""} is not valid: ${check.error.issues[0]?.message ?? "invalid"}`));
      }
    }
    for (const key of Object.keys(shape)) {
      if (values.has(key) || questions.some((q) => q.workflow === job.template.id && q.param === key)) continue;
      if (!shape[key]!.safeParse(undefined).success) {
        const kind = resourceKindOf(job.template, key, values.get("provider")?.value);
        const existing = kind && inventory ? await inventory(kind).catch(() => []) : [];
        const detail = kind && inventory ? `the request names no ${RESOURCE_LABEL[kind]}${existing.length ? "" : ", and none exists yet"}` : "the request does not say";
        questions.push(question(job.template, key, "missing", detail, kind, existing));
      }
    }
    const parsed = job.template.params.safeParse(explicit);
    const full = parsed.success ? (parsed.data as Record<string, unknown>) : explicit;
    for (const key of Object.keys(shape)) {
      const v = values.get(key);
      if (v) params.push(v);
      else if (full[key] !== undefined) params.push({ workflow: job.template.id, name: key, value: full[key], source: "default" });
    }
    memo.workflows.push({ id: job.template.id, values: explicit });
    if (parsed.success && questions.length === 0) parts.push({ workflow: job.template.id, plan: options.library.instantiate(job.template, full) });
  }
  const workflows = jobs.map((j) => j.match);
  const closest = ranked.filter((m) => m.score > 0 && !workflows.some((w) => w.id === m.id)).slice(0, 3);
  if (questions.length > 0) return { kind: "question", questions, workflows, params, notes, closest, reading, memo };
  return { kind: "plan", plan: composePlans(parts), workflows, params, notes, closest, reading, memo };
}

/** Id parameters and workspace projects from the inventory: one clear match fills it, else a question. */
async function resolveFromInventory(job: Job, values: Map<string, ParamValue>, inventory: InventoryLookup | undefined, questions: PlannerQuestion[]): Promise<void> {
  if (!inventory) return;
  await providerFromInventory(job, values, inventory);
  for (const key of Object.keys(job.template.params.shape)) {
    if (values.has(key)) continue;
    const kind = resourceKindOf(job.template, key, values.get("provider")?.value);
    if (!kind) continue;
    let resources: InventoryResource[];
    try {
      resources = await inventory(kind);
    } catch (error) {
      questions.push(question(job.template, key, "missing", `the inventory could not list ${RESOURCE_LABEL[kind]}s (${error instanceof Error ? error.message : String(error)})`, kind));
      continue;
    }
    const found = resolveResource(job.text, resources, kind === "workspace_project");
    if (found.kind === "one") {
      values.set(key, { workflow: job.template.id, name: key, value: found.resource.id, source: "inventory", note: `${RESOURCE_LABEL[kind]} "${found.resource.name}" (named by "${found.words.join(" ")}")` });
    } else if (found.kind === "choose") {
      questions.push(question(job.template, key, "ambiguous", `${found.choices.length} ${RESOURCE_LABEL[kind]}s fit the request`, kind, found.choices));
    } else if (kind !== "workspace_project" && namesSomething(job)) {
      questions.push(question(job.template, key, "not_found", `no ${RESOURCE_LABEL[kind]} matches the request${resources.length ? "" : "; none exists yet"}`, kind, resources));
    }
  }
}

/**
 * "Redeploy the gateway" where the gateway is a Fly.io app: a template whose provider the request
 * does not say acts where the named thing is. Only when the default provider has no match and the
 * other has exactly one.
 */
async function providerFromInventory(job: Job, values: Map<string, ParamValue>, inventory: InventoryLookup): Promise<void> {
  const template = job.template;
  if (!Object.hasOwn(template.params.shape, "provider") || values.has("provider")) return;
  const keys = Object.keys(template.params.shape).filter((k) => !values.has(k) && resourceKindOf(template, k, "vercel") !== resourceKindOf(template, k, "fly"));
  const named = async (provider: string): Promise<InventoryResource | undefined> => {
    for (const key of keys) {
      const kind = resourceKindOf(template, key, provider)!;
      const found = resolveResource(job.text, await inventory(kind).catch(() => []));
      if (found.kind === "one") return found.resource;
    }
    return undefined;
  };
  if (keys.length === 0 || (await named("vercel"))) return;
  const fly = await named("fly");
  if (fly) values.set("provider", { workflow: template.id, name: "provider", value: "fly", source: "inventory", note: `the request names the Fly.io app "${fly.name}"` });
}

/** Whether the request names the thing it acts on (else a missing id is simply "missing"). */
function namesSomething(job: Job): boolean {
  return job.entities.some((e) => e.kind === "reference" || e.kind === "name");
}

function memoInventory(lookup: InventoryLookup | undefined): InventoryLookup | undefined {
  if (!lookup) return undefined;
  const cache = new Map<ResourceKind, Promise<InventoryResource[]>>();
  return (kind) => {
    if (!cache.has(kind)) cache.set(kind, lookup(kind));
    return cache.get(kind)!;
  };
}

/** The words of every existing resource's name: in a request they point at a thing, not at a job. */
async function knownNames(inventory: InventoryLookup): Promise<string[]> {
  const lists = await Promise.all(RESOURCE_KINDS.map((k) => inventory(k).catch(() => [] as InventoryResource[])));
  return [...new Set(lists.flat().flatMap((r) => r.name.toLowerCase().split(/[^a-z0-9]+/)).filter((w) => w.length > 2))];
}

/** Entity kinds whose words say nothing about which job is meant. */
const VALUE_KINDS = new Set<Entity["kind"]>(["name", "branch", "region", "version", "list", "title", "label", "assignment", "id", "duration"]);
const NAMING_WEIGHT = 0.3;
const CREATE = normalizeTerm("create");

/**
 * The words the ranking sees: values (names, regions, versions) are left out; words naming an
 * existing thing ("my rad crawler") count less than the words saying what to do with it.
 */
function queryOf(text: string, entities: readonly Entity[], known: readonly string[], offset = 0): QueryWord[] {
  const chars = [...text];
  const weak: string[] = [];
  const blank = (span: Span): void => {
    for (let i = span.start - offset; i < span.end - offset; i++) if (i >= 0 && i < chars.length) chars[i] = " ";
  };
  // One "staging branch" is a branch's name; "staging and dev branches" are environments, which is a job (neon-environments).
  const environments = new Set(text.toLowerCase().match(/\b(staging|dev|development|production|prod)\b/g) ?? []);
  for (const e of entities) {
    if (e.kind === "branch" && environments.size >= 2 && environments.has(e.value.toLowerCase())) continue;
    if (VALUE_KINDS.has(e.kind)) blank(e.span);
    // "feature/cart" names a branch, and says it is a feature branch.
    if (e.kind === "branch" && e.value.includes("/")) weak.push(e.value.split("/")[0]!);
    else if (e.kind === "reference") {
      weak.push(text.slice(e.span.start - offset, e.span.end - offset));
      blank(e.span);
    }
  }
  const strong = foldPhrases(chars.join("").toLowerCase()).split(/[^a-z0-9']+/).filter(Boolean);
  // Known names point at existing things, unless the request makes a new one ("set up the rad crawler").
  const creating = strong.some((w) => normalizeTerm(w) === CREATE);
  const knownSet = new Set(creating ? [] : known);
  const out: QueryWord[] = strong.map((word) => ({ word, weight: knownSet.has(word) ? NAMING_WEIGHT : 1 }));
  for (const w of weak.join(" ").toLowerCase().split(/[^a-z0-9']+/).filter(Boolean)) out.push({ word: w, weight: NAMING_WEIGHT });
  return out;
}

/** Verbs that start a job of their own ("… and back up the billing database"). */
const JOB_VERBS = new Set(
  "create set setup provision deploy lint backup teardown destroy delete remove run check open push scaffold generate start cut tag redeploy rotate sync audit review make add spin bring ship host build onboard cleanup test typecheck"
    .split(" "),
);

interface Segment {
  text: string;
  start: number;
}

/**
 * One job, or several: the request is cut at "and", commas, "plus", "then"; a piece is a job of its
 * own when it has its own verb or its own name and its best template is another than its
 * neighbours'. Pieces that are not ("… with Neon DB, Fly.io deployment and Upstash Redis") stay
 * with the job before them.
 */
function splitJobs(
  request: string,
  entities: readonly Entity[],
  known: readonly string[],
  whole: WorkflowMatch[],
  templates: readonly WorkflowTemplate[],
  threshold: number,
): { match: WorkflowMatch; text: string; entities: Entity[] }[] | undefined {
  const single = whole[0] && whole[0].score >= threshold ? [{ match: whole[0], text: request, entities: [...entities] }] : undefined;
  const inside = (i: number): boolean => entities.some((e) => (e.kind === "list" || e.kind === "title" || e.kind === "name") && e.span.start <= i && i < e.span.end);
  const cuts = [...request.matchAll(/\s*(?:,\s*(?:and\s+|then\s+)?|\s(?:and|plus|then|also)\s)\s*/gi)].filter((m) => !inside(m.index!));
  if (cuts.length === 0) return single;
  const pieces: Segment[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push({ text: request.slice(from, cut.index), start: from });
    from = cut.index! + cut[0].length;
  }
  pieces.push({ text: request.slice(from), start: from });
  const own = (s: Segment): boolean => {
    const first = foldPhrases(s.text.trim().toLowerCase()).split(/[^a-z0-9]+/).filter(Boolean);
    const verb = first.slice(0, 2).some((w) => JOB_VERBS.has(w) || JOB_VERBS.has(normalizeTerm(w) ?? ""));
    const named = entities.some((e) => e.kind === "name" && e.span.start >= s.start && e.span.end <= s.start + s.text.length);
    // "… and deploy it on Vercel": "it" is the job before, not another one.
    const continues = /^\s*\w+\s+(?:it|them|this|that|everything)\b/i.test(s.text);
    return !continues && (verb || named);
  };
  const merged: Segment[] = [];
  for (const piece of pieces) {
    const last = merged[merged.length - 1];
    if (last && !own(piece)) merged[merged.length - 1] = { text: request.slice(last.start, piece.start + piece.text.length), start: last.start };
    else merged.push(piece);
  }
  if (merged.length < 2) return single;
  const jobs = merged.map((s) => {
    const mine = entities.filter((e) => e.span.start >= s.start && e.span.end <= s.start + s.text.length);
    return { match: rankWorkflows(queryOf(s.text, mine, known, s.start), templates)[0]!, text: s.text, entities: mine, segment: s };
  });
  const distinct = new Set(jobs.map((j) => j.match.id)).size === jobs.length;
  if (!distinct || jobs.some((j) => j.match.score < threshold)) return single;
  // Compose only when one template does not already do it all: every piece names its own thing, or the best whole-request template misses a piece's words.
  const allNamed = jobs.every((j) => j.entities.some((e) => e.kind === "name"));
  const wholeWords = new Set(single?.[0]?.match.matched ?? []);
  const providers = new Set([...Object.values(PROVIDER_NAMES).flat(), ...Object.keys(SERVICE_NICKNAMES)].map((w) => normalizeTerm(w)));
  const missed = jobs.some((j) => {
    const words = j.match.matched.filter((w) => !providers.has(w));
    return words.length > 0 && words.filter((w) => wholeWords.has(w)).length / words.length < 0.5;
  });
  if (!single || allNamed || missed) return jobs.map(({ match, text, entities: mine }) => ({ match, text, entities: mine }));
  return single;
}

const REFINEMENT = /\b(instead|make it|change|rename|call it|name it|use|switch|move it|rather|put it)\b/i;
const ADDITION = /^\s*(?:and\s+)?(?:also|plus|add|additionally|and)\b/i;
const REMOVAL = /\b(?:without|drop|skip|no|remove)\s+(?:the\s+|a\s+)?([a-z][\w-]*)/i;

/**
 * Whether this turn changes the last plan rather than asking for a new one, and the changed plan:
 * - "also add a staging branch": the last plan's templates, and the new one beside them;
 * - "without the cache": the last plan without the template the words name;
 * - "make it eu-central-1", "call it billing instead", or values alone: the last plan, with this
 *   turn's values over the ones it had.
 * Undefined when the turn is a new request.
 */
async function asRefinement(
  request: string,
  entities: Entity[],
  jobs: { match: WorkflowMatch; text: string; entities: Entity[] }[] | undefined,
  best: WorkflowMatch | undefined,
  threshold: number,
  options: PlanOfflineOptions,
  inventory: InventoryLookup | undefined,
): Promise<OfflinePlan | undefined> {
  const previous = options.previous!;
  const templates = options.library.workflows;
  const carried = Object.fromEntries(previous.workflows.map((w) => [w.id, w.values]));
  const last = (text: string, with_: Entity[]): Job[] =>
    previous.workflows.flatMap((w) => {
      const template = templates.find((t) => t.id === w.id);
      return template ? [{ template, text, entities: with_, match: { id: w.id, name: template.name, score: 1, matched: [] } }] : [];
    });
  const was = previous.workflows.map((w) => w.id).join(" + ");
  // "run it again": the last plan as it was, unless the turn also names a job of its own.
  if (asksAgain(request) && (refersBack(request) || !best || best.score < threshold)) {
    return build(previous.request, last(previous.request, []), [], options, inventory, { kind: "refinement", reason: `runs the last plan (${was}) again` }, carried);
  }
  if (jobs && ADDITION.test(request)) {
    const added = jobs.filter((j) => !previous.workflows.some((w) => w.id === j.match.id));
    if (added.length > 0) {
      const parts = [...last(previous.request, []), ...added.map((j) => ({ template: templates.find((t) => t.id === j.match.id)!, text: j.text, entities: j.entities, match: j.match }))];
      return build(request, parts, [], options, inventory, { kind: "refinement", reason: `adds ${added.map((j) => j.match.id).join(", ")} to the last plan (${was})` }, carried);
    }
  }
  const removal = REMOVAL.exec(request);
  if (removal && previous.workflows.length > 1) {
    const kept = last(previous.request, []);
    const target = rankWorkflows(removal[1]!, kept.map((j) => j.template))[0];
    if (target && target.score > 0) {
      const rest = kept.filter((j) => j.template.id !== target.id);
      return build(request, rest, [], options, inventory, { kind: "refinement", reason: `drops ${target.id} ("${removal[0]}") from the last plan (${was})` }, carried);
    }
  }
  const valuesOnly = entities.length > 0 && (!best || best.score < threshold);
  if (!jobs || REFINEMENT.test(request) || valuesOnly) {
    if (!jobs && entities.length === 0 && !REFINEMENT.test(request)) return undefined;
    const reading: Reading = { kind: "refinement", reason: `changes the last plan (${was}) with what this turn says` };
    return build(request, last(request, entities), [], options, inventory, reading, carried);
  }
  return undefined;
}

/** What the offline planner can do, by category, for "no workflow matches". */
function capabilities(templates: readonly WorkflowTemplate[]): string {
  return templates
    .slice(0, 6)
    .map((t) => t.name.toLowerCase())
    .concat(templates.length > 6 ? [`${templates.length - 6} more (credit-optimizer workflows)`] : [])
    .join(", ");
}

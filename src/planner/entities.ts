import { AWS_REGION, DEPLOY_PROVIDERS, FLY_REGIONS, NUMBER_WORDS, REGION_PLACES, SERVICE_NICKNAMES, STOPWORDS, type Provider, type RegionSpelling } from "./lexicon.ts";
import { providerOf, words, type Span } from "./text.ts";

/**
 * Entities in a request, each with the span of text it came from. They are typed but not yet
 * tied to a template: `fill.ts` maps them onto a template's parameters.
 */
export type Entity =
  /** A name the user gave something; `noun` is what it names ("project", "database", "service"). */
  | { kind: "name"; value: string; noun?: string; explicit: boolean; span: Span; text: string }
  /** A git or database branch; `role` for pull requests ("head" from, "base" into). */
  | { kind: "branch"; value: string; role?: "head" | "base"; span: Span; text: string }
  /** A number with what it counts: a pull request, tenants. */
  | { kind: "number"; value: number; role: "pull_request" | "count"; span: Span; text: string }
  /** A semantic version; `note` when it was completed ("v2" → "2.0.0"). */
  | { kind: "version"; value: string; note?: string; span: Span; text: string }
  | { kind: "list"; value: string[]; noun: string; span: Span; text: string }
  /** A region in each provider's spelling. */
  | { kind: "region"; value: RegionSpelling; span: Span; text: string }
  /** A provider; `deploy` when the request deploys onto it ("on Fly.io", "Fly.io deployment"); `typo` when the spelling was off. */
  | { kind: "provider"; value: Provider; deploy: boolean; typo: boolean; span: Span; text: string }
  | { kind: "target"; value: "production" | "preview"; span: Span; text: string }
  | { kind: "environment"; value: string; span: Span; text: string }
  | { kind: "duration"; value: number; span: Span; text: string }
  | { kind: "flag"; role: "private" | "restore"; value: boolean; span: Span; text: string }
  | { kind: "title"; value: string; span: Span; text: string }
  | { kind: "label"; value: string; span: Span; text: string }
  /** `key=value` typed in the request: taken as the parameter's value as is. */
  | { kind: "assignment"; key: string; value: string; span: Span; text: string }
  /** A provider id typed in the request ("prj-abc123"); `noun` is what it identifies. */
  | { kind: "id"; value: string; noun?: string; span: Span; text: string }
  /** Words that point at something that already exists ("my rad crawler"). */
  | { kind: "reference"; value: string; span: Span; text: string };

export type EntityKind = Entity["kind"];

/** Nouns a name can be given to, folded to one spelling. */
const NOUNS: Record<string, string> = {
  project: "project", app: "app", application: "app", service: "service", api: "service", microservice: "service", site: "app", website: "app",
  repo: "repository", repository: "repository", folder: "project", platform: "platform", database: "database", db: "database", postgres: "database",
  redis: "redis", cache: "redis", kv: "redis", store: "redis", queue: "redis", worker: "app", crawler: "app", branch: "branch", backup: "backup", bot: "app",
};

/** Words that never are a name, even in a name's place ("the new project", "my web app"). */
const NOT_A_NAME = new Set([
  ...STOPWORDS, ...Object.keys(NOUNS), "new", "web", "node", "backend", "frontend", "main", "current", "whole", "entire", "existing", "same", "fresh", "serverless",
  "neon", "vercel", "fly", "fly.io", "upstash", "github", "git", "local", "one", "it", "everything", "with", "and", "or", "staging", "production", "dev",
  "development", "preview", "feature", "merged", "closed", "own", "matching", "separate", "private", "public", "small", "simple", "tiny", "background",
  "deployed", "deployment", "starter", "sample", "demo", "basic", "little", "another", "second", "first", "environment", "env", "environments", "tests", "code", "changes", "dependencies", "npm", "package", "packages",
]);

const BRANCH_WORDS = new Set(["staging", "dev", "development", "main", "master", "production", "prod", "preview", "test", "qa", "release", "hotfix"]);
const NOT_A_BRANCH = new Set(["feature", "new", "my", "the", "a", "git", "database", "db", "neon", "matching", "own", "merged", "closed", "current", "this", "that", "isolated", "preview", "release"]);
const VALID_NAME = /^[a-z0-9](?:[a-z0-9._/-]*[a-z0-9])?$/i;

/** Every entity in the request, in order of where it starts. */
export function extractEntities(request: string): Entity[] {
  const found: Entity[] = [
    ...assignments(request),
    ...titles(request),
    ...lists(request),
    ...names(request),
    ...branches(request),
    ...numbers(request),
    ...versions(request),
    ...regions(request),
    ...providers(request),
    ...targetsAndEnvironments(request),
    ...durations(request),
    ...flags(request),
    ...labels(request),
    ...ids(request),
    ...references(request),
  ];
  // A quoted title is not also a name.
  const titled = found.filter((e) => e.kind === "title").map((e) => e.span);
  return found
    .filter((e) => e.kind !== "name" || !titled.some((t) => t.start <= e.span.start && e.span.end <= t.end))
    .sort((a, b) => a.span.start - b.span.start);
}

function at(m: RegExpMatchArray, group = 0): { span: Span; text: string } {
  const text = m[group]!;
  const start = m.index! + (group === 0 ? 0 : m[0].indexOf(text));
  return { span: { start, end: start + text.length }, text };
}

function clean(name: string): string {
  return name.replace(/[.,;:!?)]+$/, "");
}

function assignments(request: string): Entity[] {
  return [...request.matchAll(/\b([a-z_][a-z0-9_]*)\s*=\s*("([^"]*)"|[^\s,;]+)/gi)].map((m) => ({ kind: "assignment", key: m[1]!, value: m[3] ?? clean(m[2]!), ...at(m) }));
}

function titles(request: string): Entity[] {
  return [...request.matchAll(/\btitled?:?\s+["“'‘]([^"”'’]+)["”'’]/gi)].map((m) => ({ kind: "title", value: m[1]!.trim(), ...at(m, 0) }));
}

/** The noun closest before `index`, within four words ("a Neon database called orders" → database). */
function nounBefore(request: string, index: number): string | undefined {
  const before = words(request.slice(0, index)).slice(-4).reverse();
  for (const w of before) {
    const noun = NOUNS[w.raw.replace(/s$/, "")] ?? NOUNS[w.raw];
    if (noun) return noun;
  }
  return undefined;
}

/** The noun right after `index` ('"billing" service' → service). */
function nounAfter(request: string, index: number): string | undefined {
  const next = words(request.slice(index))[0];
  return next ? NOUNS[next.raw] : undefined;
}

function names(request: string): Entity[] {
  const out: Entity[] = [];
  const taken: Span[] = [];
  // Quoted and "called X" names are explicit: they win over names read from context ("the api project").
  const add = (value: string, noun: string | undefined, m: RegExpMatchArray, group: number, explicit = false): void => {
    const where = at(m, group);
    if (taken.some((s) => s.start < where.span.end && where.span.start < s.end)) return;
    taken.push(where.span);
    out.push({ kind: "name", value, noun, explicit, ...where });
  };
  // Quoted, unless it is a title.
  for (const m of request.matchAll(/(?<!titled?:?\s+)(?:^|[\s(:=])["“'‘`]([^"”'’`\n]{1,80})["”'’`]/gi)) add(m[1]!.trim(), nounAfter(request, m.index! + m[0].length) ?? nounBefore(request, m.index!), m, 1, true);
  for (const m of request.matchAll(/\b(?:called|named|(?:call|name|rename)\s+it(?:\s+to)?)\s+([A-Za-z0-9][\w./-]*)/gi)) {
    const value = clean(m[1]!);
    if (!NOT_A_NAME.has(value.toLowerCase())) add(value, nounBefore(request, m.index!), m, 1, true);
  }
  // "for my billing service", "the api project", "of project atlas".
  for (const m of request.matchAll(/\b(?:my|our|the|a|an|for|of|in)\s+([A-Za-z0-9][\w.-]*)\s+(project|app|application|service|repo|repository|folder|platform|microservice|site|website|bot)\b/gi)) {
    const value = clean(m[1]!);
    if (!NOT_A_NAME.has(value.toLowerCase()) && VALID_NAME.test(value)) add(value, NOUNS[m[2]!.toLowerCase()], m, 1);
  }
  for (const m of request.matchAll(/\b(project|app|application|service|repo|repository|folder|platform)\s+([A-Za-z0-9][\w.-]*)/gi)) {
    const value = clean(m[2]!);
    if (!NOT_A_NAME.has(value.toLowerCase()) && VALID_NAME.test(value) && !/^\d+$/.test(value)) add(value, NOUNS[m[1]!.toLowerCase()], m, 2);
  }
  return out;
}

function branches(request: string): Entity[] {
  const out: Entity[] = [];
  const seen = new Set<string>();
  const add = (value: string, role: "head" | "base" | undefined, m: RegExpMatchArray, group: number): void => {
    const v = clean(value);
    if (seen.has(v) || !VALID_NAME.test(v)) return;
    seen.add(v);
    out.push({ kind: "branch", value: v, role, ...at(m, group) });
  };
  for (const m of request.matchAll(/\bfrom\s+([a-z0-9][\w./-]*)\s+(?:to|into|onto|against)\s+([a-z0-9][\w./-]*)/gi)) {
    add(m[1]!, "head", m, 1);
    add(m[2]!, "base", m, 2);
  }
  for (const m of request.matchAll(/\b(?:against|into|onto|off|off of)\s+([a-z0-9][\w./-]*)/gi)) if (/^(main|master|develop|dev|staging|release[\w./-]*)$/i.test(m[1]!)) add(m[1]!, "base", m, 1);
  for (const m of request.matchAll(/\bbranch(?:es)?\s+(?:called\s+|named\s+)?([a-z0-9][\w./-]*)/gi)) {
    const v = clean(m[1]!);
    if (!NOT_A_NAME.has(v.toLowerCase()) || BRANCH_WORDS.has(v.toLowerCase())) add(v, undefined, m, 1);
  }
  for (const m of request.matchAll(/\b([a-z0-9][\w./-]*)\s+branch\b/gi)) {
    const v = m[1]!.toLowerCase();
    if ((v.includes("/") || BRANCH_WORDS.has(v) || /-/.test(v)) && !NOT_A_BRANCH.has(v)) add(m[1]!, undefined, m, 1);
  }
  // A word with a slash is a branch wherever it stands ("push feature/login").
  for (const m of request.matchAll(/\b([a-z0-9][\w.-]*\/[\w./-]*[a-z0-9])\b/gi)) if (!/^(fly|pass\/fail)/i.test(m[1]!)) add(m[1]!, undefined, m, 1);
  return out;
}

const COUNTED = "tenants?|customers?|clients?|orgs?|organizations?|workspaces?";

function numbers(request: string): Entity[] {
  const out: Entity[] = [];
  for (const m of request.matchAll(/\b(?:pull[\s-]?request|pr|merge request|mr)\s*(?:number\s*)?[#-]?\s*(\d+)\b|(?<![\w#])#(\d+)\b/gi)) {
    out.push({ kind: "number", value: Number(m[1] ?? m[2]), role: "pull_request", ...at(m) });
  }
  const word = Object.keys(NUMBER_WORDS).filter((w) => w.length > 2).join("|");
  for (const m of request.matchAll(new RegExp(`\\b(\\d+|${word})\\s+(?:new\\s+|more\\s+|separate\\s+)?(?:${COUNTED})\\b`, "gi"))) {
    const raw = m[1]!.toLowerCase();
    out.push({ kind: "number", value: /^\d+$/.test(raw) ? Number(raw) : NUMBER_WORDS[raw]!, role: "count", ...at(m) });
  }
  return out;
}

function versions(request: string): Entity[] {
  const out: Entity[] = [];
  const taken: Span[] = [];
  for (const m of request.matchAll(/\bv?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]*[0-9A-Za-z])?)\b/g)) {
    out.push({ kind: "version", value: m[1]!, ...at(m) });
    taken.push(at(m).span);
  }
  for (const m of request.matchAll(/\b(?:v|version\s+v?|release\s+v?)(\d+)(?:\.(\d+))?\b(?!\.\d)/gi)) {
    const where = at(m);
    if (taken.some((s) => s.start <= where.span.start && where.span.start < s.end)) continue;
    const value = `${m[1]}.${m[2] ?? 0}.0`;
    out.push({ kind: "version", value, note: `"${where.text}" read as ${value}`, ...where });
  }
  return out;
}

function lists(request: string): Entity[] {
  const item = "[a-z0-9][a-z0-9-]*";
  const re = new RegExp(`\\b(${COUNTED})(?:\\s+(?:called|named))?\\s*:?\\s+(${item}(?:\\s*,\\s*${item})*(?:,?\\s+(?:and|&)\\s+${item}))\\b`, "gi");
  const out: Entity[] = [];
  for (const m of request.matchAll(re)) {
    const items = m[2]!.split(/\s*,\s*|\s+(?:and|&)\s+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
    if (items.length >= 2 && items.every((i) => !NOT_A_NAME.has(i) && !/^\d+$/.test(i))) out.push({ kind: "list", value: items, noun: "tenant", ...at(m, 2) });
  }
  return out;
}

function regions(request: string): Entity[] {
  const out: Entity[] = [];
  for (const m of request.matchAll(AWS_REGION)) {
    const code = m[1]!.toLowerCase();
    const place = Object.values(REGION_PLACES).find((p) => p.upstash === code);
    out.push({ kind: "region", value: { upstash: code, fly: place?.fly }, ...at(m) });
  }
  for (const [place, spelling] of Object.entries(REGION_PLACES)) {
    for (const m of request.matchAll(new RegExp(`\\b${place}\\b`, "gi"))) out.push({ kind: "region", value: spelling, ...at(m) });
  }
  // Fly's three-letter codes are English words too ("sea", "mad"): only after "in" or "region".
  for (const m of request.matchAll(/\b(?:in|region|at)\s+([a-z]{3})\b/gi)) {
    const code = m[1]!.toLowerCase();
    if (!FLY_REGIONS.has(code)) continue;
    const place = Object.values(REGION_PLACES).find((p) => p.fly === code);
    out.push({ kind: "region", value: { fly: code, upstash: place?.upstash }, ...at(m, 1) });
  }
  return out;
}

function providers(request: string): Entity[] {
  const out: Entity[] = [];
  for (const w of words(request)) {
    const hit = providerOf(w.raw);
    if (!hit) continue;
    const before = request.slice(Math.max(0, w.span.start - 12), w.span.start).toLowerCase();
    const after = request.slice(w.span.end, w.span.end + 14).toLowerCase();
    const deploy =
      DEPLOY_PROVIDERS.includes(hit.provider) &&
      (/\b(on|to|onto|via|with|using|in|at)\s+$/.test(before) || /^\s*(deploy|deployment|app|machine|hosting)/.test(after) || /\bdeploy\w*\s+(it\s+)?$/.test(before));
    out.push({ kind: "provider", value: hit.provider, deploy, typo: !hit.exact, span: w.span, text: request.slice(w.span.start, w.span.end) });
  }
  for (const w of words(request)) {
    const provider = SERVICE_NICKNAMES[w.raw];
    if (provider && !out.some((e) => e.kind === "provider" && e.value === provider)) {
      out.push({ kind: "provider", value: provider, deploy: false, typo: false, span: w.span, text: request.slice(w.span.start, w.span.end) });
    }
  }
  return out;
}

function targetsAndEnvironments(request: string): Entity[] {
  const out: Entity[] = [];
  for (const m of request.matchAll(/\b(production|prod|preview)\b/gi)) {
    out.push({ kind: "target", value: m[1]!.toLowerCase() === "preview" ? "preview" : "production", ...at(m) });
  }
  for (const m of request.matchAll(/\b(staging|dev|development|production|prod|qa|test)\s+(?:environment|env|stage)\b/gi)) {
    out.push({ kind: "environment", value: m[1]!.toLowerCase(), ...at(m, 1) });
  }
  return out;
}

const UNIT_MS: Record<string, number> = { ms: 1, millisecond: 1, s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000 };

function durations(request: string): Entity[] {
  if (!/\btime-?out\b|\bstop after\b|\bat most\b/i.test(request)) return [];
  return [...request.matchAll(/\b(\d+)[\s-]*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b/gi)].map((m) => {
    const unit = m[2]!.toLowerCase().replace(/s$/, "");
    return { kind: "duration", value: Number(m[1]) * (UNIT_MS[unit] ?? UNIT_MS[unit.replace(/s$/, "")] ?? 1000), ...at(m) };
  });
}

function flags(request: string): Entity[] {
  const out: Entity[] = [];
  for (const m of request.matchAll(/\b(private|public)\b/gi)) out.push({ kind: "flag", role: "private", value: m[1]!.toLowerCase() === "private", ...at(m) });
  for (const m of request.matchAll(/\b(?:without|no|skip(?:ping)?(?: the)?|don'?t)\s+(?:a\s+|the\s+)?(?:restor\w*|test restore)|\bbackup only\b|\bonly back\s?up\b/gi)) {
    out.push({ kind: "flag", role: "restore", value: false, ...at(m) });
  }
  return out;
}

function labels(request: string): Entity[] {
  return [...request.matchAll(/\blabel(?:led|ed)?\s+["'“]?([a-z0-9][a-z0-9-]*)/gi)].map((m) => ({ kind: "label", value: m[1]!.toLowerCase(), ...at(m, 1) }));
}

function ids(request: string): Entity[] {
  const out: Entity[] = [];
  for (const m of request.matchAll(/\b(?:id|ID)\s*[:#]?\s+([A-Za-z0-9][A-Za-z0-9_-]{2,63})\b/g)) out.push({ kind: "id", value: m[1]!, noun: nounBefore(request, m.index!), ...at(m, 1) });
  return out;
}

/** "my rad crawler", "the storefront's database", "of billing": what already exists, by the words used for it. */
function references(request: string): Entity[] {
  const out: Entity[] = [];
  for (const m of request.matchAll(/\b(?:my|our|of|for)\s+(?:the\s+|my\s+)?([a-z0-9][\w-]*(?:\s+[a-z0-9][\w-]*){0,2}?)(?=\s*$|\s*[,.?!:;]|\s+(?:and|with|to|on|in|from|without|labell?ed|again|is|database|db|app|project|deployment|environment|env|cache|redis|service)\b)/gi)) {
    const value = m[1]!.trim();
    if (value && !value.split(/\s+/).every((w) => NOT_A_NAME.has(w.toLowerCase()))) out.push({ kind: "reference", value, ...at(m, 1) });
  }
  // "the inventory database", "the storefront deployment".
  for (const m of request.matchAll(/\b(?:the|my|our)\s+((?:[a-z0-9][\w-]*\s+){0,2}?[a-z0-9][\w-]*)\s+(?:database|db|app|project|deployment|environment|env|cache|redis|service|site|preview)s?\b/gi)) {
    const value = m[1]!.trim();
    const where = at(m, 1);
    if (out.some((e) => e.span.start <= where.span.start && where.span.end <= e.span.end)) continue;
    if (!value.split(/\s+/).every((w) => NOT_A_NAME.has(w.toLowerCase()))) out.push({ kind: "reference", value, ...where });
  }
  for (const m of request.matchAll(/\b([a-z0-9][\w-]*)'s\b/gi)) if (!NOT_A_NAME.has(m[1]!.toLowerCase())) out.push({ kind: "reference", value: m[1]!, ...at(m, 1) });
  return out;
}

import SearchableMap from "minisearch/SearchableMap";
import { stemmer } from "stemmer";
import { PROVIDER_NAMES, STOPWORDS, SYNONYMS, type Provider } from "./lexicon.ts";

/** Where in the request a word or value came from: `request.slice(start, end)`. */
export interface Span {
  start: number;
  end: number;
}

export interface Word {
  /** As typed, lowercased. */
  raw: string;
  span: Span;
}

/** The request's words with their places; `fly.io` stays one word. */
export function words(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9][A-Za-z0-9_'’./-]*[A-Za-z0-9]|[A-Za-z0-9]/g)) {
    out.push({ raw: m[0].toLowerCase().replace(/[’]/g, "'"), span: { start: m.index, end: m.index + m[0].length } });
  }
  return out;
}

/**
 * One word as the matcher sees it: `fly.io` → `fly`, synonyms folded ("db" → "database"),
 * Porter-stemmed ("deploying" → "deploy"); null for filler. Used for the index and the query alike,
 * so both sides fold the same way.
 */
export function normalizeTerm(term: string): string | null {
  let folded = normalized.get(term);
  if (folded === undefined) {
    folded = fold(term);
    normalized.set(term, folded);
  }
  return folded;
}

/**
 * normalizeTerm's answers: building the planner's index folds every word of every template, most of
 * them many times over, and stemming is most of its time (the same few thousand words each `plan`).
 */
const normalized = new Map<string, string | null>();

function fold(term: string): string | null {
  let word = term.toLowerCase().replace(/'s$/, "").replace(/\.(io|dev|com|app|sh)$/, "").replace(/[^a-z0-9-]/g, "");
  if (word === "") return null;
  word = SYNONYMS[word] ?? word;
  if (STOPWORDS.has(word)) return null;
  const stem = stemmer(word);
  return SYNONYMS[stem] ?? stem;
}

/** Terms of a text for matching: split on anything but letters and digits (so `multi-tenant` is two words). */
export function terms(text: string): string[] {
  return foldPhrases(text.toLowerCase())
    .split(/[^a-z0-9']+/)
    .map((w) => normalizeTerm(w))
    .filter((w): w is string => w !== null);
}

/** Edits tolerated in a word of this length: none for short words, where one edit makes another word. */
export function maxEdits(length: number): number {
  return length >= 9 ? 2 : length >= 6 ? 1 : 0;
}

/** Two-word verbs folded into one word, so "back up" is not "back" and "up". */
const PHRASES: [RegExp, string][] = [
  [/\b(fly|vercel|neon)\.(io|com|tech)\b/g, "$1"],
  [/\bback(?:ing|ed)?[\s-]+up\b/g, "backup"],
  [/\btear(?:ing)?[\s-]+(?:it\s+)?down\b/g, "teardown"],
  [/\bclean(?:ing)?[\s-]+up\b/g, "cleanup"],
  [/\bspin(?:ning)?[\s-]+up\b/g, "create"],
  [/\bbring[\s-]+up\b/g, "create"],
  [/\bstand[\s-]+up\b/g, "create"],
  [/\bset(?:ting)?[\s-]+up\b/g, "setup"],
  [/\broll(?:ing)?[\s-]+out\b(.*)\bagain\b/g, "redeploy $1"],
  [/\bship(?:ping)?\b(.*)\bagain\b/g, "redeploy $1"],
  [/\bdeploy\b(.*)\bagain\b/g, "redeploy $1"],
  [/\btype[\s-]+check/g, "typecheck"],
  [/\b(?:is|are)\s+(.{1,40}?)\s+(?:up|down|alive|running|healthy|ok|okay|working)\b/g, "health $1"],
  [/\bpre[\s-]+commit/g, "precommit"],
  [/\bmulti[\s-]+tenant/g, "multitenant"],
  [/\bpoint[\s-]+in[\s-]+time\b/g, "pitr"],
  [/\bkey[\s-]+value\b/g, "kv"],
  [/\bwork(?:ing)?[\s-]+tree\b/g, "worktree"],
];

export function foldPhrases(text: string): string {
  return PHRASES.reduce((t, [re, to]) => t.replace(re, to), text);
}

const providerIndex = new SearchableMap<Provider>();
for (const [provider, names] of Object.entries(PROVIDER_NAMES) as [Provider, string[]][]) {
  for (const name of names) providerIndex.set(name.replace(/\./g, ""), provider);
}

/** The provider a word names, typos within one or two edits included ("vercell", "upstsh"). */
export function providerOf(raw: string): { provider: Provider; exact: boolean } | undefined {
  const word = raw.toLowerCase().replace(/'s$/, "").replace(/\./g, "");
  const exact = providerIndex.get(word);
  if (exact) return { provider: exact, exact: true };
  if (word.length < 5) return undefined;
  const hits = [...providerIndex.fuzzyGet(word, maxEdits(word.length)).values()].sort((a, b) => a[1] - b[1]);
  const best = hits[0];
  return best ? { provider: best[0], exact: false } : undefined;
}

import MiniSearch, { type SearchResult } from "minisearch";
import type { WorkflowTemplate } from "../workflows/types.ts";
import { foldPhrases, maxEdits, normalizeTerm } from "./text.ts";

/**
 * Ranking templates against a request with MiniSearch: BM25+ over each template's name, tags,
 * examples and description (field boosts), with typo tolerance (edit distance by word length) and
 * the planner's own term folding (synonyms, provider nicknames, Porter stems) on both sides.
 */

export interface WorkflowMatch {
  id: string;
  name: string;
  /** 0…1: the share of the request's words the template answers, weighted by how telling each word is. */
  score: number;
  /** Request words found in the template (as folded for matching). */
  matched: string[];
}

/** Below this score no template is close enough to plan with. */
export const DEFAULT_MATCH_THRESHOLD = 0.45;

interface Doc {
  id: string;
  name: string;
  tags: string;
  examples: string;
  description: string;
}

const BOOST = { name: 3, tags: 3, examples: 2, description: 1 };

function tokenize(text: string): string[] {
  return foldPhrases(text.toLowerCase())
    .split(/[^a-z0-9']+/)
    .filter(Boolean);
}

const indexes = new WeakMap<readonly WorkflowTemplate[], MiniSearch<Doc>>();

function indexOf(templates: readonly WorkflowTemplate[]): MiniSearch<Doc> {
  const cached = indexes.get(templates);
  if (cached) return cached;
  const search = new MiniSearch<Doc>({
    fields: ["name", "tags", "examples", "description"],
    tokenize,
    processTerm: (term) => normalizeTerm(term),
    searchOptions: { boost: BOOST, fuzzy: (term) => maxEdits(term.length) || false, maxFuzzy: 2, weights: { fuzzy: 0.6, prefix: 0.3 }, prefix: (term) => term.length >= 5 },
  });
  search.addAll(
    templates.map((t) => ({ id: t.id, name: `${t.name} ${t.id.replace(/-/g, " ")}`, tags: t.tags.join(" "), examples: t.examples.join(" \n "), description: t.description })),
  );
  indexes.set(templates, search);
  return search;
}

/** A request word and how much it counts (words that name things count less than words that say what to do). */
export interface QueryWord {
  word: string;
  weight: number;
}

/**
 * Every template scored against the request's words, best first. The order is MiniSearch's BM25
 * score; the reported score is the weighted share of the request's words the template matched, so
 * a threshold means the same for short and long requests.
 */
export function rankWorkflows(request: string | readonly QueryWord[], templates: readonly WorkflowTemplate[]): WorkflowMatch[] {
  const query = typeof request === "string" ? tokenize(request).map((word) => ({ word, weight: 1 })) : request;
  const folded = foldQuery(query);
  const byId = new Map(templates.map((t) => [t.id, t]));
  if (folded.size === 0) return templates.map((t) => ({ id: t.id, name: t.name, score: 0, matched: [] }));
  const total = [...folded.values()].reduce((s, w) => s + w, 0);
  // The query is already folded: MiniSearch must not fold it again.
  const results: SearchResult[] = indexOf(templates).search([...folded.keys()].join(" "), {
    tokenize: (text) => text.split(" "),
    processTerm: (term) => term,
    boostTerm: (term) => folded.get(term) ?? 1,
  });
  const top = results[0]?.score ?? 1;
  const ranked = results.map((r) => {
    const matched = [...new Set(r.queryTerms)];
    const covered = matched.reduce((s, w) => s + (folded.get(w) ?? 0), 0) / total;
    // The share of the words, tempered by how far behind the best BM25 score a template is.
    const score = round(covered * Math.sqrt(r.score / top));
    return { id: String(r.id), name: byId.get(String(r.id))?.name ?? String(r.id), score, matched };
  });
  const seen = new Set(ranked.map((r) => r.id));
  const rest = templates.filter((t) => !seen.has(t.id)).map((t) => ({ id: t.id, name: t.name, score: 0, matched: [] }));
  return [...ranked.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)), ...rest];
}

/** Folded words with their weight; a word said twice counts once, at its higher weight. */
function foldQuery(query: readonly QueryWord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { word, weight } of query) {
    const term = normalizeTerm(word);
    if (term && weight > 0) out.set(term, Math.max(weight, out.get(term) ?? 0));
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

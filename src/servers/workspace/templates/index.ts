import { crawlerTemplate } from "./crawler.ts";
import { nodeHttpTemplate } from "./node-http.ts";
import type { ProjectTemplate } from "./types.ts";

export const TEMPLATE_IDS = ["crawler", "node-http"] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

const TEMPLATES: Record<TemplateId, ProjectTemplate> = {
  crawler: crawlerTemplate,
  "node-http": nodeHttpTemplate,
};

const CRAWLER_WORDS = /\b(crawler|crawl|crawls|crawling|scrape|scraper|scraping)\b/i;

/** Picks a template by keywords in the task and context: crawling words → crawler, else node-http. */
export function chooseTemplate(task: string, context: string): TemplateId {
  return CRAWLER_WORDS.test(`${task}\n${context}`) ? "crawler" : "node-http";
}

export function getTemplate(id: TemplateId): ProjectTemplate {
  return TEMPLATES[id];
}

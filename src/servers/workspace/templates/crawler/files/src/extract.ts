/** What the crawler keeps of a page: its title and the absolute http(s) links on it. */
export interface PageSummary {
  title: string | null;
  links: string[];
}

const TITLE = /<title[^>]*>([\s\S]*?)<\/title>/i;
const HREF = /<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;

/** Extracts the title and the distinct absolute http(s) links (without fragments) of an HTML page. */
export function extractPage(html: string, baseUrl: string, maxLinks = 500): PageSummary {
  const rawTitle = TITLE.exec(html)?.[1];
  const title = rawTitle === undefined ? "" : decodeEntities(rawTitle).replace(/\s+/g, " ").trim();
  const links = new Set<string>();
  for (const match of html.matchAll(HREF)) {
    if (links.size >= maxLinks) break;
    const href = match[1] ?? match[2] ?? match[3];
    if (href === undefined) continue;
    const absolute = toHttpUrl(decodeEntities(href), baseUrl);
    if (absolute !== null) links.add(absolute);
  }
  return { title: title === "" ? null : title, links: [...links] };
}

function toHttpUrl(href: string, baseUrl: string): string | null {
  try {
    const url = new URL(href, baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    url.hash = "";
    return url.toString();
  } catch {
    return null;
  }
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

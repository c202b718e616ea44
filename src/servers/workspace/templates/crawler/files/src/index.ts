import http from "node:http";
import pg from "pg";
import { createClient } from "redis";
import { extractPage } from "./extract.js";

const port = Number(process.env.PORT ?? "3000");
const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const cacheTtlSeconds = Number(process.env.CACHE_TTL_SECONDS ?? "3600");
const FETCH_TIMEOUT_MS = 10_000;
const CHECK_TIMEOUT_MS = 1_500;
const MAX_PAGE_CHARS = 5_000_000;

type ServiceStatus = "up" | "down" | "not configured";

/** A crawled page as stored in Postgres and cached in Redis. */
interface PageRecord {
  url: string;
  status: number;
  title: string | null;
  links: string[];
  crawledAt: string;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS crawled_pages (
  url TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  title TEXT,
  links JSONB NOT NULL,
  link_count INTEGER NOT NULL,
  crawled_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

const UPSERT_PAGE = `INSERT INTO crawled_pages (url, status, title, links, link_count, crawled_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6)
ON CONFLICT (url) DO UPDATE SET status = $2, title = $3, links = $4::jsonb, link_count = $5, crawled_at = $6`;

const pool = databaseUrl === undefined ? undefined : new pg.Pool({ connectionString: databaseUrl, max: 5, connectionTimeoutMillis: 3_000 });
pool?.on("error", (error) => console.error(`postgres: ${error.message}`));

const redis =
  redisUrl === undefined
    ? undefined
    : createClient({
        url: redisUrl,
        disableOfflineQueue: true,
        socket: { connectTimeout: 3_000, reconnectStrategy: (retries: number) => Math.min(200 * (retries + 1), 5_000) },
      });
redis?.on("error", (error: Error) => console.error(`redis: ${error.message}`));

let schemaReady: Promise<void> | undefined;

/** Creates the pages table once; a failed attempt is retried on the next call. */
function ensureSchema(db: pg.Pool): Promise<void> {
  schemaReady ??= db.query(CREATE_TABLE).then(
    () => undefined,
    (error: unknown) => {
      schemaReady = undefined;
      // Another instance created the table at the same moment.
      if ((error as { code?: string }).code === "23505") return;
      throw error;
    },
  );
  return schemaReady;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function databaseStatus(): Promise<ServiceStatus> {
  if (pool === undefined) return "not configured";
  try {
    await withTimeout(pool.query("SELECT 1"), CHECK_TIMEOUT_MS);
    return "up";
  } catch {
    return "down";
  }
}

async function cacheStatus(): Promise<ServiceStatus> {
  if (redis === undefined) return "not configured";
  if (!redis.isReady) return "down";
  try {
    await withTimeout(redis.ping(), CHECK_TIMEOUT_MS);
    return "up";
  } catch {
    return "down";
  }
}

async function readCache(url: string): Promise<PageRecord | undefined> {
  if (redis === undefined || !redis.isReady) return undefined;
  try {
    const cached = await withTimeout(redis.get(`page:${url}`), CHECK_TIMEOUT_MS);
    return cached === null ? undefined : (JSON.parse(cached) as PageRecord);
  } catch {
    return undefined;
  }
}

async function writeCache(page: PageRecord): Promise<boolean> {
  if (redis === undefined || !redis.isReady) return false;
  try {
    await withTimeout(redis.set(`page:${page.url}`, JSON.stringify(page), { EX: cacheTtlSeconds }), CHECK_TIMEOUT_MS);
    return true;
  } catch (error) {
    console.error(`redis: caching ${page.url} failed: ${(error as Error).message}`);
    return false;
  }
}

async function storePage(page: PageRecord): Promise<boolean> {
  if (pool === undefined) return false;
  try {
    await ensureSchema(pool);
    await pool.query(UPSERT_PAGE, [page.url, page.status, page.title, JSON.stringify(page.links), page.links.length, page.crawledAt]);
    return true;
  } catch (error) {
    console.error(`postgres: storing ${page.url} failed: ${(error as Error).message}`);
    return false;
  }
}

/** Fetches a page (or takes it from the cache), extracts title and links, stores and caches it. */
async function crawl(url: string): Promise<PageRecord & { fromCache: boolean; stored: boolean; cached: boolean }> {
  const hit = await readCache(url);
  if (hit !== undefined) return { ...hit, fromCache: true, stored: false, cached: true };
  const response = await fetch(url, {
    redirect: "follow",
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { "user-agent": "crawler/0.1", accept: "text/html" },
  });
  const html = (await response.text()).slice(0, MAX_PAGE_CHARS);
  const page: PageRecord = { url, status: response.status, ...extractPage(html, response.url || url), crawledAt: new Date().toISOString() };
  const [stored, cached] = await Promise.all([storePage(page), writeCache(page)]);
  return { ...page, fromCache: false, stored, cached };
}

async function recentPages(limit: number): Promise<unknown[]> {
  if (pool === undefined) throw new HttpError(503, "DATABASE_URL is not set");
  await ensureSchema(pool);
  const result = await pool.query(
    "SELECT url, status, title, link_count, crawled_at FROM crawled_pages ORDER BY crawled_at DESC LIMIT $1",
    [limit],
  );
  return result.rows;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage, limit = 65_536): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, "request body is too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "request body is not JSON");
  }
}

function crawlTarget(body: unknown): string {
  const url = (body as { url?: unknown } | null)?.url;
  if (typeof url !== "string") throw new HttpError(400, "url: expected a string");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HttpError(400, `url: "${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new HttpError(400, "url: only http and https are crawled");
  return parsed.toString();
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const { pathname, searchParams } = new URL(req.url ?? "/", "http://localhost");
  if (req.method === "GET" && pathname === "/health") {
    const [db, cache] = await Promise.all([databaseStatus(), cacheStatus()]);
    send(res, 200, { status: "ok", db, cache, uptimeSeconds: Math.round(process.uptime()) });
  } else if (req.method === "POST" && pathname === "/crawl") {
    const url = crawlTarget(await readJson(req));
    try {
      send(res, 200, await crawl(url));
    } catch (error) {
      throw new HttpError(502, `fetching ${url} failed: ${(error as Error).message}`);
    }
  } else if (req.method === "GET" && pathname === "/pages") {
    const limit = Math.min(Math.max(Number(searchParams.get("limit") ?? "20") || 20, 1), 100);
    send(res, 200, { pages: await recentPages(limit) });
  } else {
    send(res, 404, { error: `no route for ${req.method ?? "?"} ${pathname}` });
  }
}

const server = http.createServer((req, res) => {
  route(req, res).catch((error: unknown) => {
    const status = error instanceof HttpError ? error.status : 500;
    if (status === 500) console.error(error);
    if (!res.headersSent) send(res, status, { error: (error as Error).message });
    else res.end();
  });
});

async function shutdown(): Promise<void> {
  server.close();
  await pool?.end().catch(() => undefined);
  if (redis?.isOpen) redis.destroy();
  process.exit(0);
}

server.listen(port, () => {
  console.info(`crawler listening on port ${port}`);
  redis?.connect().catch((error: Error) => console.error(`redis: ${error.message}`));
  if (pool !== undefined) ensureSchema(pool).catch((error: Error) => console.error(`postgres: ${error.message}`));
});
process.once("SIGTERM", () => void shutdown());
process.once("SIGINT", () => void shutdown());

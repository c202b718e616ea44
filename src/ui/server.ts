import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunRecord } from "../cost/ledger.ts";
import { breakpointOf } from "../run/breakpoint.ts";
import { drive } from "../run/drive.ts";
import { openRoot, type Root } from "../run/root.ts";
import { knownSecrets, maskValue } from "../tracing.ts";
import { openChangeFeed } from "./changes.ts";
import { listRunHeads } from "./threads.ts";
import { runView, summarizeHead, type RunSummary, type RunView } from "./view.ts";

export interface ViewerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Required on a non-loopback host: every request carries it (cookie after `/?token=…`, or a bearer header). */
  token?: string;
  /**
   * How often a page's feed re-reads the run even when no change was heard (ms, at least 1000).
   * Changes are heard through Postgres LISTEN/NOTIFY or a watch on the SQLite files, so this is
   * only a backstop. Default 1000 on SQLite, 10000 on Postgres.
   */
  pollMs?: number;
  /** Opens a root for an approved run (tests replace it); by default one on the same checkpointer with the thread's MCP config. */
  openRunRoot?(mcpConfigPath: string | undefined): Promise<Root>;
  /** Told when an answered run ends or fails (the CLI prints it). */
  onDriveEnd?(threadId: string, outcome: string): void;
}

export interface Viewer {
  url: string;
  server: Server;
  /** How live updates are heard (see ChangeFeed). */
  changes: string;
  /** Drives started by the approve button that have not finished yet. */
  pending(): Promise<void>;
  close(): Promise<void>;
}

const PUBLIC = path.join(path.dirname(fileURLToPath(import.meta.url)), "public");
const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  "/assets/app.js": { file: path.join(PUBLIC, "app.js"), type: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: path.join(PUBLIC, "app.css"), type: "text/css; charset=utf-8" },
  // dagre's own browser build (an IIFE defining `dagre`), served from the installed package.
  "/assets/dagre.js": { file: path.join(path.dirname(require.resolve("@dagrejs/dagre/package.json")), "dist", "dagre.min.js"), type: "text/javascript; charset=utf-8" },
};

/** While changes keep coming, a page's feed reads its run at most this often. */
const READ_GAP_MS = 200;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || /^127\./.test(host);
}

/** The viewer: the runs page, a run's page, their JSON and live (SSE) feeds, and the approval endpoint. */
export async function startViewer(root: Root, options: ViewerOptions = {}): Promise<Viewer> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host) && !options.token) throw new Error(`--host ${host} is not a loopback address: the viewer needs a token (--token, or CREDIT_OPTIMIZER_UI_TOKEN)`);
  const changes = await openChangeFeed(root);
  const pollMs = Math.max(1000, options.pollMs ?? (changes.description.startsWith("postgres") ? 10_000 : 1000));
  const csrf = randomBytes(24).toString("hex");
  const known = knownSecrets(root.config);
  const graph = root.graph();
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([route, a]) => [route, { body: readFileSync(a.file), type: a.type }]));
  const shell = readFileSync(path.join(PUBLIC, "index.html"), "utf8").replace("{{csrf}}", csrf);
  const drives = new Set<Promise<void>>();
  const streams = new Set<ServerResponse>();
  let origin = "";
  let loopbackHosts = new Set<string>();

  const ledgerRecord = async (threadId: string): Promise<RunRecord | undefined> => (await root.ledger.runs({ runId: threadId }))[0];
  const snapshotOf = (threadId: string) => graph.getState({ configurable: { thread_id: threadId } });
  // One page of the runs list: one query on the checkpointer, one on the ledger, whatever the page holds.
  const listRuns = async (url: URL): Promise<{ runs: RunSummary[]; next?: string }> => {
    const number = (name: string): number | undefined => {
      const v = url.searchParams.get(name);
      return v === null || v === "" || !Number.isFinite(Number(v)) ? undefined : Number(v);
    };
    const page = await listRunHeads(root, { limit: number("limit"), before: url.searchParams.get("before") || undefined, since: number("since") });
    const records = await root.ledger.runs({ runIds: page.heads.map((h) => h.threadId) });
    const byId = new Map(records.map((r) => [r.runId, r]));
    // A pause at a breakpoint leaves no interrupt on the run's thread: it is read from the plan graph's checkpoint.
    await Promise.all(page.heads.filter((h) => h.breakpoints && !h.waiting && h.next.length > 0).map(async (h) => {
      h.waiting = (await breakpointOf(root.checkpointer.saver, h.threadId)) !== undefined;
    }));
    const status = url.searchParams.get("status");
    const runs = page.heads.map((h) => summarizeHead(h, byId.get(h.threadId))).filter((r) => !status || r.status === status);
    return page.next ? { runs, next: page.next } : { runs };
  };
  const viewRun = async (threadId: string): Promise<RunView | undefined> => {
    const snapshot = await snapshotOf(threadId);
    if (!snapshot.createdAt) return undefined;
    // Progress is only of use while the run proceeds.
    const [record, progress, steps, modelCalls] = await Promise.all([
      ledgerRecord(threadId),
      snapshot.next.length > 0 ? root.ledger.progress(threadId) : [],
      root.ledger.steps({ runId: threadId }),
      root.ledger.modelCalls({ runId: threadId }),
    ]);
    const values = snapshot.values as { breakBefore?: string[] };
    const paused = snapshot.next.length > 0 && (values.breakBefore?.length ?? 0) > 0 && snapshot.tasks.every((t) => t.interrupts.length === 0);
    const breakpoint = paused ? await breakpointOf(root.checkpointer.saver, threadId) : undefined;
    return runView(threadId, snapshot, record, { progress, steps, modelCalls, ...(breakpoint ? { breakpoint } : {}) });
  };
  // Every body leaves through here: secret-looking fields and known credentials are masked, as in logs and traces.
  const safeJson = (value: unknown): string => JSON.stringify(maskValue(value, known));

  const answer = async (threadId: string, approved: boolean): Promise<void> => {
    const tuple = await root.checkpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    const stored = tuple?.checkpoint.channel_values["mcpConfigPath"];
    const runRoot = await (options.openRunRoot ?? ((file) => openRoot(root.config, { checkpointer: root.checkpointerUrl, mcpConfigPath: file })))(typeof stored === "string" ? stored : undefined);
    const work = drive(runRoot, threadId, { approved })
      .then((r) => options.onDriveEnd?.(threadId, r.kind === "finished" ? r.report.status : "waiting"))
      .catch((error: unknown) => options.onDriveEnd?.(threadId, `failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => runRoot.close().catch(() => {}));
    drives.add(work);
    void work.finally(() => drives.delete(work));
  };

  /**
   * A page's live feed: the model is read again when a change is heard (for this thread, or for any
   * when `threadId` is absent) and at most every READ_GAP_MS while changes keep coming, and sent
   * when it differs from the last one sent.
   */
  const stream = (req: IncomingMessage, res: ServerResponse, read: () => Promise<unknown>, threadId?: string): void => {
    res.writeHead(200, { ...securityHeaders(), "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    streams.add(res);
    let last = "";
    let busy = false;
    let again = false;
    let lastRead = 0;
    let wait: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      lastRead = Date.now();
      try {
        // A run not there yet is `null` ("no such run"), until its first checkpoint lands.
        const body = safeJson((await read()) ?? null);
        if (body !== last) res.write(`data: ${body}\n\n`);
        last = body;
      } catch (error) {
        res.write(`event: problem\ndata: ${safeJson({ error: error instanceof Error ? error.message : String(error) })}\n\n`);
      } finally {
        busy = false;
      }
      if (again) {
        again = false;
        changed();
      }
    };
    const changed = (): void => {
      if (wait) return;
      wait = setTimeout(() => {
        wait = undefined;
        void tick();
      }, Math.max(0, lastRead + READ_GAP_MS - Date.now()));
    };
    void tick();
    const unsubscribe = changes.subscribe((thread) => {
      if (thread === undefined || threadId === undefined || thread === threadId) changed();
    });
    const timer = setInterval(() => void tick(), pollMs);
    req.on("close", () => {
      clearInterval(timer);
      clearTimeout(wait);
      unsubscribe();
      streams.delete(res);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", origin);
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 is refused on loopback. On
    // another address the names it is reached by are not known here; the token guards it.
    if (isLoopback(host) && !loopbackHosts.has(req.headers.host ?? "")) return send(res, 421, "text/plain", "wrong Host header");
    if (options.token) {
      if (url.searchParams.get("token") === options.token && req.method === "GET") {
        res.writeHead(303, { ...securityHeaders(), location: url.pathname, "set-cookie": `co_ui=${options.token}; HttpOnly; SameSite=Strict; Path=/` });
        return void res.end();
      }
      if (!hasToken(req, options.token)) return send(res, 401, "text/plain", "this viewer needs its token: open the URL it printed (…/?token=…)");
    }
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (req.method === "GET") {
      const asset = assets[url.pathname];
      if (asset) return send(res, 200, asset.type, asset.body);
      if (url.pathname === "/" || (parts[0] === "runs" && parts.length === 2)) return send(res, 200, "text/html; charset=utf-8", shell);
      if (url.pathname === "/api/runs") return send(res, 200, "application/json", safeJson(await listRuns(url)));
      if (url.pathname === "/api/runs/events") return stream(req, res, () => listRuns(url));
      if (parts[0] === "api" && parts[1] === "runs" && parts.length >= 3) {
        const id = parts[2]!;
        if (parts.length === 3) {
          const view = await viewRun(id);
          return view ? send(res, 200, "application/json", safeJson(view)) : send(res, 404, "application/json", safeJson({ error: `no run on thread "${id}"` }));
        }
        if (parts[3] === "events") return stream(req, res, () => viewRun(id), id);
        if (parts[3] === "plan.json") {
          const view = await viewRun(id);
          if (!view?.plan_json) return send(res, 404, "application/json", safeJson({ error: `thread "${id}" has no plan` }));
          res.setHeader("content-disposition", `attachment; filename="plan-${id.replace(/[^\w.-]/g, "_")}.json"`);
          return send(res, 200, "application/json", JSON.stringify(maskValue(view.plan_json, known), null, 2));
        }
      }
    }
    if (req.method === "POST" && parts[0] === "api" && parts[1] === "runs" && parts[3] === "answer" && parts.length === 4) {
      const given = req.headers["x-csrf-token"];
      if (typeof given !== "string" || !sameSecret(given, csrf)) return send(res, 403, "application/json", safeJson({ error: "missing or wrong X-CSRF-Token" }));
      if (req.headers.origin !== undefined && req.headers.origin !== `http://${req.headers.host ?? ""}`) return send(res, 403, "application/json", safeJson({ error: `cross-origin request from ${req.headers.origin}` }));
      const body = await readJson(req);
      if (typeof body?.["approved"] !== "boolean") return send(res, 400, "application/json", safeJson({ error: 'the body must be {"approved": true|false, "destructive"?: true}' }));
      const id = parts[2]!;
      const view = await viewRun(id);
      if (!view?.question) return send(res, 409, "application/json", safeJson({ error: `thread "${id}" is not waiting for an answer` }));
      // Approving destruction is its own choice: an approval that does not say so explicitly is refused.
      if (body["approved"] && view.destructive.length > 0 && body["destructive"] !== true) {
        const calls = view.destructive.map((d) => `${d.step}${d.rollback ? " (rollback)" : ""}: ${d.tool}`).join(", ");
        return send(res, 409, "application/json", safeJson({ error: `this plan makes calls that may destroy data (${calls}): approving them takes "destructive": true` }));
      }
      await answer(id, body["approved"]);
      return send(res, 202, "application/json", safeJson({ threadId: id, approved: body["approved"] }));
    }
    return send(res, 404, "text/plain", "not found");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, "application/json", safeJson({ error: error instanceof Error ? error.message : String(error) }));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  }).catch(async (error: unknown) => {
    await changes.close();
    throw error;
  });
  const address = server.address() as AddressInfo;
  origin = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  if (host === "localhost") origin = `http://localhost:${address.port}`;
  loopbackHosts = new Set([new URL(origin).host, `localhost:${address.port}`, `127.0.0.1:${address.port}`, `[::1]:${address.port}`]);
  return {
    url: origin,
    server,
    pending: async () => {
      while (drives.size > 0) await Promise.all([...drives]);
    },
    changes: changes.description,
    async close() {
      for (const res of streams) res.end();
      await changes.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      while (drives.size > 0) await Promise.all([...drives]);
    },
  };
}

function securityHeaders(): Record<string, string> {
  return { "content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...securityHeaders(), "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hasToken(req: IncomingMessage, token: string): boolean {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  if (bearer && sameSecret(bearer, token)) return true;
  const cookie = (req.headers.cookie ?? "").split(/;\s*/).find((c) => c.startsWith("co_ui="))?.slice("co_ui=".length);
  return cookie !== undefined && sameSecret(cookie, token);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let text = "";
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 10_000) return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

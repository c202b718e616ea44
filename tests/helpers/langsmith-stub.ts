import http from "node:http";
import type { AddressInfo } from "node:net";

/** One part of a `/runs/multipart` upload: `post.<id>`, `patch.<id>`, `post.<id>.inputs`, … */
export interface MultipartPart {
  name: string;
  body: string;
}

/** A run reassembled from its parts: the run fields plus inputs, outputs, extra (metadata) …. */
export type TracedRun = Record<string, unknown> & { id: string; name?: string; run_type?: string; extra?: { metadata?: Record<string, unknown> } };

export interface LangSmithStub {
  url: string;
  /** Every request body as received (for "no secret anywhere" checks). */
  payloads: string[];
  parts: MultipartPart[];
  /** Runs by id, post and patch merged. */
  runs(): TracedRun[];
  close(): Promise<void>;
}

/**
 * A local LangSmith endpoint: answers `/info`, accepts `POST /runs/multipart` (and the older
 * `/runs/batch`, `/runs`), and keeps what it received.
 */
export async function startLangSmithStub(): Promise<LangSmithStub> {
  const payloads: string[] = [];
  const parts: MultipartPart[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (req.method === "GET" && path === "/info") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ version: "stub", batch_ingest_config: { use_multipart_endpoint: true }, instance_flags: {} }));
        return;
      }
      if (req.method === "POST" && path.startsWith("/runs")) {
        payloads.push(body);
        const type = req.headers["content-type"] ?? "";
        const boundary = /boundary=([^;]+)/.exec(type)?.[1];
        if (boundary) parts.push(...parseMultipart(body, boundary.replace(/^"|"$/g, "")));
        else if (body) parts.push({ name: path, body });
        res.writeHead(202, { "content-type": "application/json" });
        res.end("{}");
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ detail: `no route ${req.method ?? ""} ${path}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    payloads,
    parts,
    runs: () => assemble(parts),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseMultipart(body: string, boundary: string): MultipartPart[] {
  const out: MultipartPart[] = [];
  for (const section of body.split(`--${boundary}`)) {
    const split = section.indexOf("\r\n\r\n");
    if (split < 0) continue;
    const headers = section.slice(0, split);
    const name = /name="([^"]+)"/.exec(headers)?.[1];
    if (!name) continue;
    out.push({ name, body: section.slice(split + 4).replace(/\r\n$/, "") });
  }
  return out;
}

function assemble(parts: readonly MultipartPart[]): TracedRun[] {
  const runs = new Map<string, TracedRun>();
  for (const part of parts) {
    const m = /^(post|patch)\.([^.]+)(?:\.(.+))?$/.exec(part.name);
    if (!m) continue;
    const id = m[2]!;
    const run = runs.get(id) ?? ({ id } as TracedRun);
    let value: unknown;
    try {
      value = JSON.parse(part.body);
    } catch {
      value = part.body;
    }
    if (m[3]) run[m[3]] = value;
    else Object.assign(run, value as Record<string, unknown>);
    runs.set(id, run);
  }
  return [...runs.values()];
}

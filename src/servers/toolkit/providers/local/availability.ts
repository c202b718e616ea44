import net from "node:net";
import type { ServiceStatus } from "../../../preflight.ts";
import { maskSecrets } from "../../../../secrets.ts";
import type { ToolkitEnv } from "../../tool.ts";
import { EMBEDDED_POSTGRES, readState } from "./embedded-state.ts";
import { findRedisServer, PRIVATE_REDIS, readPrivateServer, REDIS_FIXES, runningPrivateServer } from "./private-redis.ts";

/*
 * Whether the local services can serve, asked cheaply: a TCP connect, a look at the PATH, a
 * state file read. Nothing is started or created. Used by the toolkit's preflight tool and by
 * `doctor`, so both say the same thing.
 */

/** Whether something accepts a TCP connection at the URL's host and port within `timeoutMs`. */
export function answersAt(url: string, defaultPort: number, timeoutMs = 1_000): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    port = Number(parsed.port || defaultPort);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function postgresStatus(env: ToolkitEnv, timeoutMs?: number): Promise<ServiceStatus> {
  if (env.neon) return { ok: true, kind: "cloud", detail: "Neon API (NEON_API_KEY is set)" };
  if (env.localPostgresUrl === EMBEDDED_POSTGRES) return { ok: true, kind: "embedded", detail: "embedded Postgres (LOCAL_POSTGRES_URL=embedded)" };
  const label = maskSecrets(env.localPostgresUrl);
  if (await answersAt(env.localPostgresUrl, 5432, timeoutMs)) return { ok: true, kind: "server", detail: `Postgres server at ${label}` };
  if (env.localPostgresFallback) {
    const projects = Object.keys((await readState(env.dataDir).catch(() => ({ projects: {} }))).projects).length;
    return { ok: true, kind: "embedded", detail: `no server at ${label}: the embedded Postgres (PGlite) serves Neon${projects ? ` (${projects} projects)` : ""}` };
  }
  return {
    ok: false,
    kind: "none",
    detail: `no Postgres answers at ${label} (LOCAL_POSTGRES_URL)`,
    fix: "start that Postgres, or set LOCAL_POSTGRES_URL=embedded (or unset it) for the embedded Postgres, or set NEON_API_KEY to use Neon",
  };
}

export async function redisStatus(env: ToolkitEnv, timeoutMs?: number): Promise<ServiceStatus> {
  if (env.upstash) return { ok: true, kind: "cloud", detail: "Upstash API (UPSTASH_EMAIL and UPSTASH_API_KEY are set)" };
  const label = maskSecrets(env.localRedisUrl);
  const privateOrNone = async (why: string): Promise<ServiceStatus> => {
    const running = await runningPrivateServer(env.dataDir);
    if (running) return { ok: true, kind: "private", detail: `${why}: the private redis-server runs on 127.0.0.1:${running.port}` };
    const binary = await findRedisServer(env);
    if (binary) return { ok: true, kind: "private", detail: `${why}: a private redis-server (${binary}) is started on first use` };
    return { ok: false, kind: "none", detail: `${why}, and redis-server is not installed (not on the PATH)`, fix: REDIS_FIXES.join(", ") };
  };
  if (env.localRedisUrl === PRIVATE_REDIS) return privateOrNone("LOCAL_REDIS_URL=private");
  if (!env.localRedisFallback) {
    if (await answersAt(env.localRedisUrl, 6379, timeoutMs)) return { ok: true, kind: "server", detail: `Redis server at ${label}` };
    return {
      ok: false,
      kind: "none",
      detail: `no Redis answers at ${label} (LOCAL_REDIS_URL)`,
      fix: "start that Redis, or unset LOCAL_REDIS_URL to use a private redis-server, or set UPSTASH_EMAIL and UPSTASH_API_KEY to use Upstash",
    };
  }
  // Databases made on the private server stay there (see redis.ts).
  if (await readPrivateServer(env.dataDir)) return privateOrNone("databases live on the private redis-server");
  if (await answersAt(env.localRedisUrl, 6379, timeoutMs)) return { ok: true, kind: "server", detail: `Redis server at ${label}` };
  return privateOrNone(`no Redis answers at ${label}`);
}

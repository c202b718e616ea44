import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { maskSecrets } from "../../../../secrets.ts";
import { LocalBackendError } from "../../local.ts";
import type { ToolkitEnv } from "../../tool.ts";
import type { NeonBackend } from "../neon-backend.ts";
import { EMBEDDED_POSTGRES, embeddedDir, hostFile, NEON_METHODS, readState, type HostInfo } from "./embedded-state.ts";
import { ownScript } from "../../../../package-root.ts";
import { tsxLoader } from "./processes-launch.ts";
import { listServerProjects, loadPg, localNeonBackend } from "./postgres.ts";

export { EMBEDDED_POSTGRES };

/** The host process: compiled when this module runs compiled, else the source through tsx. */
const hostCommand = (): string[] => ownScript(import.meta.url, "embedded-neon", tsxLoader);
/** How long a call waits for the host to start (it restarts every saved database first). */
const HOST_START_TIMEOUT_MS = 120_000;

/**
 * The local Neon backend: on the Postgres server at `env.localPostgresUrl`, or on the embedded
 * Postgres when that is configured, or (with `localPostgresFallback`) when the server cannot be
 * reached. A project stays where it was made: calls about a project the embedded host holds go
 * there even once a server is reachable, so a later rollback finds it.
 */
export function localNeon(env: ToolkitEnv): NeonBackend {
  const embedded = embeddedNeonBackend(env);
  if (env.localPostgresUrl === EMBEDDED_POSTGRES) return embedded;
  const server = localNeonBackend(env);
  if (!env.localPostgresFallback) return server;
  const pick = async (input: { project_id?: string; name?: string }): Promise<NeonBackend> => {
    const { projects } = await readState(env.dataDir);
    const known = input.project_id !== undefined ? projects[input.project_id] : Object.values(projects).find((p) => p.name === input.name);
    return known || !(await serverReachable(env)) ? embedded : server;
  };
  return Object.fromEntries(
    NEON_METHODS.map((method) => [method, async (input: never, signal?: AbortSignal) => (await pick(input))[method](input, signal)]),
  ) as unknown as NeonBackend;
}

/**
 * The local projects wherever they live: on the server and in the embedded host's saved state (read
 * from its file: listing does not start the host).
 */
export async function listLocalNeonProjects(env: ToolkitEnv): Promise<{ project_id: string; name: string }[]> {
  const { projects } = await readState(env.dataDir);
  const embedded = Object.entries(projects).map(([project_id, p]) => ({ project_id, name: p.name }));
  if (env.localPostgresUrl === EMBEDDED_POSTGRES) return embedded;
  if (env.localPostgresFallback && !(await serverReachable(env))) return embedded;
  const server = await listServerProjects(env);
  return [...server, ...embedded.filter((e) => !server.some((p) => p.project_id === e.project_id))];
}

const reachability = new WeakMap<ToolkitEnv, Promise<boolean>>();

/** Whether the Postgres server answers at all (asked once per environment); says so when it does not. */
function serverReachable(env: ToolkitEnv): Promise<boolean> {
  let answer = reachability.get(env);
  if (!answer) {
    answer = (async () => {
      const { Client } = await loadPg();
      // A refused connection fails at once; 10 s before a silent one counts as absent, so that a server
      // slow to accept (a busy machine) is not taken for none and its projects hidden behind the embedded ones.
      const client = new Client({ connectionString: env.localPostgresUrl, connectionTimeoutMillis: 10_000 });
      client.on("error", () => {});
      try {
        await client.connect();
        return true;
      } catch (error) {
        // Refused, unresolvable or silent: no server. Anything else (a wrong password, say) means one is there.
        const code = (error as NodeJS.ErrnoException).code;
        const absent = code === undefined || ["ECONNREFUSED", "ENOENT", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT"].includes(code);
        if (absent) {
          console.error(`toolkit: no Postgres server at ${maskSecrets(env.localPostgresUrl)}; using the embedded Postgres under ${embeddedDir(env.dataDir)}`);
        }
        return !absent;
      } finally {
        await client.end().catch(() => {});
      }
    })();
    reachability.set(env, answer);
  }
  return answer;
}

/** The Neon backend served by the embedded host of `env.dataDir`, started on first use. */
export function embeddedNeonBackend(env: ToolkitEnv): NeonBackend {
  return Object.fromEntries(
    NEON_METHODS.map((method) => [method, (input: unknown, signal?: AbortSignal) => callHost(env, method, input, signal)]),
  ) as unknown as NeonBackend;
}

async function readHost(dataDir: string): Promise<HostInfo | undefined> {
  try {
    return JSON.parse(await readFile(hostFile(dataDir), "utf8")) as HostInfo;
  } catch {
    return undefined;
  }
}

/** Calls the host, starting it (again) when nothing answers; a host that is shutting down is waited out. */
async function callHost(env: ToolkitEnv, method: string, input: unknown, signal?: AbortSignal): Promise<never> {
  const dataDir = env.dataDir;
  const deadline = Date.now() + HOST_START_TIMEOUT_MS;
  let child: ChildProcess | undefined;
  for (;;) {
    const host = await readHost(dataDir);
    if (host) {
      let response: Response | undefined;
      try {
        response = await fetch(`http://127.0.0.1:${host.port}/call`, {
          method: "POST",
          headers: { authorization: `Bearer ${host.token}`, "content-type": "application/json" },
          body: JSON.stringify({ method, input }),
          signal,
        });
      } catch (error) {
        if (signal?.aborted) throw error;
      }
      // 503: the host is shutting down (a new one is started below); 403 from a host that
      // restarted since host.json was read: read it again.
      const stale = response?.status === 403 && (await readHost(dataDir))?.token !== host.token;
      if (response && response.status !== 503 && !stale) {
        if (!response.ok) throw new LocalBackendError(`embedded Postgres host answered HTTP ${response.status}`);
        const reply = (await response.json()) as { result?: never; error?: string };
        if (reply.error !== undefined) throw new LocalBackendError(reply.error);
        return reply.result as never;
      }
    }
    if (Date.now() >= deadline) {
      throw new LocalBackendError(`the embedded Postgres did not start within ${HOST_START_TIMEOUT_MS / 1000} s; see ${path.join(embeddedDir(dataDir), "host.log")}`);
    }
    if (!child || child.exitCode !== null || child.signalCode !== null) child = await startHost(dataDir, env.searchPath);
    await sleep(100, undefined, { signal });
  }
}

async function startHost(dataDir: string, searchPath: string | undefined): Promise<ChildProcess> {
  const dir = embeddedDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const log = openSync(path.join(dir, "host.log"), "a", 0o600);
  try {
    const child = spawn(process.execPath, [...hostCommand(), dataDir], {
      cwd: dir,
      // The host needs no more of the toolkit's environment than a PATH; its home is its own folder.
      env: { PATH: searchPath ?? "", HOME: dir },
      detached: true,
      stdio: ["ignore", log, log],
    });
    child.unref();
    child.on("error", () => {});
    return child;
  } finally {
    closeSync(log);
  }
}

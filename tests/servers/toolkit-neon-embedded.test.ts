import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { hostFile, readState, type HostInfo } from "../../src/servers/toolkit/providers/local/embedded-neon.ts";
import type { ToolkitEnv } from "../../src/servers/toolkit/tool.ts";
import { processAlive, waitFor } from "../helpers/cli.ts";
import { connectToolkit, errorText, LOCAL_POSTGRES_URL, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

/*
 * The embedded Postgres (PGlite behind a password-checking front, one instance per database, in a
 * detached host per data dir): what the shared Neon suite (toolkit-neon-local.test.ts) does not
 * cover — choosing it when no server answers, credentials, restart after a crash, and shutdown.
 */

const NO_SERVER = "postgres://postgres:hunter2pass@127.0.0.1:1/postgres";
const opened: { env: ToolkitEnv; toolkit: ToolkitConnection }[] = [];

async function open(env: ToolkitEnv): Promise<ToolkitConnection> {
  const toolkit = await connectToolkit(env);
  opened.push({ env, toolkit });
  return toolkit;
}

afterAll(async () => {
  for (const { env, toolkit } of opened) {
    for (const project_id of Object.keys((await readState(env.dataDir)).projects)) await toolkit.call("neon_delete_project", { project_id });
    await toolkit.close();
  }
});

function host(env: ToolkitEnv): HostInfo | undefined {
  return existsSync(hostFile(env.dataDir)) ? (JSON.parse(readFileSync(hostFile(env.dataDir), "utf8")) as HostInfo) : undefined;
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

describe("choosing the embedded Postgres", () => {
  it("without the fallback, an unreachable server is an error naming the URL (password removed)", async () => {
    const down = await open(localEnv({ localPostgresUrl: NO_SERVER }));
    const text = errorText(await down.call("neon_create_project", { name: uniqueName("down") }));
    expect(text).toContain("local Postgres at postgres://postgres:[redacted]@127.0.0.1:1/postgres is not reachable");
    expect(text).not.toContain("hunter2pass");
  });

  it("with the fallback, an unreachable server means the embedded Postgres, and a project stays where it was made", async () => {
    const env = localEnv({ localPostgresUrl: NO_SERVER, localPostgresFallback: true });
    const toolkit = await open(env);
    const project = output(await toolkit.call("neon_create_project", { name: uniqueName("fallback") }));
    const pid = project.project_id as string;
    expect(Object.keys((await readState(env.dataDir)).projects)).toEqual([pid]);
    expect(await query(project.connection_string as string, "SELECT current_user AS u")).toEqual([{ u: `co_${pid}` }]);

    // Later, with a server that answers (a new process, say), the embedded project is still found there.
    const later = await open({ ...env, localPostgresUrl: LOCAL_POSTGRES_URL });
    const conn = output(await later.call("neon_get_connection_string", { project_id: pid }));
    expect(conn.connection_string).toBe(project.connection_string);
    const made = output(await later.call("neon_create_project", { name: uniqueName("server") }));
    expect((await readState(env.dataDir)).projects[made.project_id as string]).toBeUndefined();
    expect(await query(LOCAL_POSTGRES_URL, `SELECT 1 AS one FROM pg_roles WHERE rolname = 'co_${made.project_id as string}'`)).toEqual([{ one: 1 }]);
    expect(output(await later.call("neon_delete_project", { project_id: made.project_id })).deleted).toBe(true);
    expect(output(await later.call("neon_delete_project", { project_id: pid })).deleted).toBe(true);
  });
});

describe("the embedded Postgres host", () => {
  it("checks user, password and database name at connect time, as Postgres does", async () => {
    const toolkit = await open(localEnv({ localPostgresUrl: "embedded" }));
    const a = output(await toolkit.call("neon_create_project", { name: uniqueName("creds-a") }));
    const b = output(await toolkit.call("neon_create_project", { name: uniqueName("creds-b") }));
    const good = new URL(a.connection_string as string);
    expect(await query(good.toString(), "SELECT current_user AS u, current_database() AS d")).toEqual([
      { u: a.role_name, d: decodeURIComponent(good.pathname.slice(1)) },
    ]);

    const wrongPassword = new URL(good);
    wrongPassword.password = "not-the-password";
    await expect(query(wrongPassword.toString(), "SELECT 1")).rejects.toThrow(`password authentication failed for user "${a.role_name as string}"`);
    const otherProject = new URL(b.connection_string as string);
    otherProject.port = good.port;
    otherProject.pathname = good.pathname;
    await expect(query(otherProject.toString(), "SELECT 1")).rejects.toThrow(`password authentication failed for user "${b.role_name as string}"`);
    const otherDatabase = new URL(good);
    otherDatabase.pathname = "/postgres";
    await expect(query(otherDatabase.toString(), "SELECT 1")).rejects.toThrow('database "postgres" does not exist');
  });

  it("concurrent first calls start one host between them, and each gets its own project", async () => {
    const env = localEnv({ localPostgresUrl: "embedded" });
    const toolkits = [await open(env), await open(env), await open(env)];
    const names = toolkits.map(() => uniqueName("race"));
    const made = await Promise.all(toolkits.map(async (t, i) => output(await t.call("neon_create_project", { name: names[i] }))));
    expect(new Set(made.map((p) => p.project_id)).size).toBe(3);
    const state = await readState(env.dataDir);
    expect(Object.values(state.projects).map((p) => p.name).sort()).toEqual([...names].sort());
    const { pid } = host(env)!;
    for (const project of made) {
      expect(await query(project.connection_string as string, "SELECT current_user AS u")).toEqual([{ u: project.role_name }]);
    }
    expect(host(env)!.pid).toBe(pid);
  });

  it("after being killed, comes back on the next call with every database on its port and its data", async () => {
    const env = localEnv({ localPostgresUrl: "embedded" });
    const toolkit = await open(env);
    const project = output(await toolkit.call("neon_create_project", { name: uniqueName("crash") }));
    const url = project.connection_string as string;
    await query(url, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before the crash')");
    const before = host(env)!;
    process.kill(before.pid, "SIGKILL");
    await waitFor(async () => !(await portOpen(Number(new URL(url).port))), 20_000, "the killed host's port to close");

    const conn = output(await toolkit.call("neon_get_connection_string", { project_id: project.project_id }));
    expect(conn.connection_string).toBe(url);
    expect(host(env)!.pid).not.toBe(before.pid);
    expect(await query(url, "SELECT v FROM kept")).toEqual([{ v: "before the crash" }]);
  });

  it("exits once its last project is deleted, closing the ports and removing the data", async () => {
    const env = localEnv({ localPostgresUrl: "embedded" });
    const toolkit = await open(env);
    const project = output(await toolkit.call("neon_create_project", { name: uniqueName("last") }));
    const branch = output(await toolkit.call("neon_create_branch", { project_id: project.project_id, name: "dev" }));
    const ports = [project, branch].map((p) => Number(new URL(p.connection_string as string).port));
    const { pid } = host(env)!;
    expect(output(await toolkit.call("neon_delete_project", { project_id: project.project_id })).deleted).toBe(true);

    await waitFor(() => host(env) === undefined, 20_000, "the host to exit");
    await waitFor(() => !processAlive(pid), 20_000, "the host process to end");
    for (const port of ports) expect(await portOpen(port)).toBe(false);
    expect(await readState(env.dataDir)).toEqual({ projects: {}, databases: {} });
    expect(readdirSync(path.join(env.dataDir, "embedded-postgres", "data"))).toEqual([]);
  });
});

import { existsSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readState } from "../../src/servers/toolkit/providers/local/embedded-neon.ts";
import type { ToolkitEnv } from "../../src/servers/toolkit/tool.ts";
import { connectToolkit, errorText, keysOf, NEON_OUTPUT_KEYS, LOCAL_POSTGRES_URL, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

/** Runs queries as the given connection string; the session may be terminated by a branch copy. */
async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function adminQuery(sql: string, params: unknown[] = []): Promise<unknown[]> {
  return withClient(LOCAL_POSTGRES_URL, async (c) => (await c.query(sql, params)).rows);
}

interface Backend {
  name: string;
  env: () => ToolkitEnv;
  /** Roles and databases of a local project, straight from where the backend keeps them. */
  leftovers: (env: ToolkitEnv, projectId: string) => Promise<{ roles: unknown[]; databases: unknown[] }>;
  /** What connecting with one project's credentials to another's database says. */
  intruderRefused: RegExp;
}

const backends: Backend[] = [
  {
    name: "the local Postgres server",
    env: () => localEnv(),
    leftovers: async (_env, projectId) => ({
      roles: await adminQuery("SELECT rolname FROM pg_roles WHERE rolname = $1", [`co_${projectId}`]),
      databases: await adminQuery("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [`co_${projectId}_`]),
    }),
    intruderRefused: /permission denied for database/,
  },
  {
    name: "the embedded Postgres (PGlite)",
    env: () => localEnv({ localPostgresUrl: "embedded" }),
    leftovers: async (env, projectId) => {
      const state = await readState(env.dataDir);
      const names = Object.keys(state.databases).filter((name) => name.startsWith(`co_${projectId}_`));
      const dirs = names.filter((name) => existsSync(path.join(env.dataDir, "embedded-postgres", "data", name)));
      expect(dirs).toEqual(names);
      return { roles: state.projects[projectId] ? [{ rolname: `co_${projectId}` }] : [], databases: names.map((datname) => ({ datname })) };
    },
    intruderRefused: /database "co_\w+" does not exist/,
  },
];

describe.each(backends)("Neon local backend on $name", (backend) => {
  let toolkit: ToolkitConnection;
  const env = backend.env();
  const projects: string[] = [];

  beforeAll(async () => {
    toolkit = await connectToolkit(env);
  });
  afterAll(async () => {
    for (const project_id of projects) await toolkit.call("neon_delete_project", { project_id });
    await toolkit.close();
  });

  async function createProject(name = uniqueName("local")): Promise<Record<string, unknown>> {
    const project = output(await toolkit.call("toolkit_call", { category: "neon", tool_name: "neon_create_project", arguments: { name } }));
    projects.push(project.project_id as string);
    return project;
  }

  it("creates a project whose connection string connects with a password and runs SQL", async () => {
    const project = await createProject();
    expect(project).toMatchObject({ database_name: "neondb", role_name: `co_${project.project_id as string}`, host: "127.0.0.1", created: true });
    expect(project.rollback).toEqual({ tool: "neon_delete_project", arguments: { project_id: project.project_id } });
    const url = new URL(project.connection_string as string);
    expect(url.protocol).toBe("postgresql:");
    expect(url.username).toBe(project.role_name);
    expect(url.password.length).toBeGreaterThanOrEqual(32);

    const rows = await withClient(project.connection_string as string, async (c) => {
      await c.query("CREATE TABLE pages (url text PRIMARY KEY)");
      await c.query("INSERT INTO pages VALUES ('https://example.com')");
      return (await c.query("SELECT current_user, count(*)::int AS n FROM pages GROUP BY 1")).rows;
    });
    expect(rows).toEqual([{ current_user: project.role_name, n: 1 }]);
  });

  it("is idempotent by name and keeps the state in the server across backend instances", async () => {
    const name = uniqueName("same");
    const first = await createProject(name);
    const again = await connectToolkit(env);
    try {
      const second = output(await again.call("neon_create_project", { name }));
      expect(second).toMatchObject({ project_id: first.project_id, branch_id: first.branch_id, created: false });
      expect(second).not.toHaveProperty("rollback");
      await withClient(second.connection_string as string, async (c) => expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]));
    } finally {
      await again.close();
    }
  });

  it("names are per state dir: another data dir does not find (or re-key) this one's project", async () => {
    const name = uniqueName("scoped");
    const first = await createProject(name);
    const elsewhere = await connectToolkit(backend.env());
    try {
      const other = output(await elsewhere.call("neon_create_project", { name }));
      expect(other).toMatchObject({ created: true });
      expect(other.project_id).not.toBe(first.project_id);
      await elsewhere.call("neon_delete_project", { project_id: other.project_id });
      await withClient(first.connection_string as string, async (c) => expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]));
    } finally {
      await elsewhere.close();
    }
  });

  it("creates a database with the seed's arguments, and get_connection_string reaches it", async () => {
    const project = await createProject();
    const db = output(
      await toolkit.call("toolkit_call", {
        category: "neon",
        tool_name: "neon_create_database",
        arguments: { project_id: project.project_id, name: "crawler" },
      }),
    );
    expect(db).toMatchObject({ project_id: project.project_id, branch_id: project.branch_id, database_name: "crawler", created: true });
    expect(db.rollback).toEqual({
      tool: "neon_delete_database",
      arguments: { project_id: project.project_id, branch_id: project.branch_id, database_name: "crawler" },
    });
    const conn = output(await toolkit.call("neon_get_connection_string", { project_id: project.project_id, database_name: "crawler" }));
    expect(conn.connection_string).toBe(db.connection_string);
    expect(keysOf(project)).toEqual(NEON_OUTPUT_KEYS.neon_create_project);
    expect(keysOf(db)).toEqual(NEON_OUTPUT_KEYS.neon_create_database);
    expect(keysOf(conn)).toEqual(NEON_OUTPUT_KEYS.neon_get_connection_string);
    const current = await withClient(conn.connection_string as string, async (c) => (await c.query("SELECT current_database() AS d")).rows[0]);
    expect(current).toEqual({ d: `co_${project.project_id as string}_${project.branch_id as string}_crawler` });
    expect(output(await toolkit.call("neon_create_database", { project_id: project.project_id, database_name: "crawler" })).created).toBe(false);
  });

  it("branches copy the parent's tables and data, even while the parent is in use", async () => {
    const project = await createProject();
    const busy = new pg.Client({ connectionString: project.connection_string as string });
    busy.on("error", () => {});
    await busy.connect();
    try {
      await busy.query("CREATE TABLE items (id int, name text)");
      await busy.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
      const branch = output(await toolkit.call("neon_create_branch", { project_id: project.project_id, name: "dev" }));
      expect(branch).toMatchObject({ name: "dev", parent_id: project.branch_id, database_name: "neondb", created: true });
      expect(branch.rollback).toEqual({ tool: "neon_delete_branch", arguments: { project_id: project.project_id, branch_id: branch.branch_id } });
      expect(keysOf(branch)).toEqual(NEON_OUTPUT_KEYS.neon_create_branch);
      const rows = await withClient(branch.connection_string as string, async (c) => (await c.query("SELECT id, name FROM items ORDER BY id")).rows);
      expect(rows).toEqual([
        { id: 1, name: "one" },
        { id: 2, name: "two" },
      ]);
      await withClient(branch.connection_string as string, (c) => c.query("INSERT INTO items VALUES (3, 'branch only')"));
      const parentRows = await withClient(project.connection_string as string, async (c) => (await c.query("SELECT count(*)::int AS n FROM items")).rows);
      expect(parentRows).toEqual([{ n: 2 }]);

      const main = output(await toolkit.call("neon_create_branch", { project_id: project.project_id, name: "main" }));
      expect(main).toMatchObject({ branch_id: project.branch_id, created: false });
      expect(output(await toolkit.call("neon_delete_branch", { project_id: project.project_id, branch_id: branch.branch_id })).deleted).toBe(true);
      expect(errorText(await toolkit.call("neon_delete_branch", { project_id: project.project_id, branch_id: project.branch_id }))).toContain(
        "branch_id: ",
      );
    } finally {
      await busy.end().catch(() => {});
    }
  });

  it("keeps projects apart: one project's role cannot connect to another's database", async () => {
    const a = await createProject();
    const b = await createProject();
    const intruder = new URL(b.connection_string as string);
    intruder.pathname = new URL(a.connection_string as string).pathname;
    await expect(withClient(intruder.toString(), (c) => c.query("SELECT 1"))).rejects.toThrow(backend.intruderRefused);
  });

  it("deletes a project leaving no role or database behind", async () => {
    const project = await createProject();
    const pid = project.project_id as string;
    output(await toolkit.call("neon_create_database", { project_id: pid, name: "extra" }));
    output(await toolkit.call("neon_create_branch", { project_id: pid, name: "feature" }));
    expect((await backend.leftovers(env, pid)).databases).toHaveLength(4);
    await withClient(project.connection_string as string, async () => {
      expect(output(await toolkit.call("neon_delete_project", { project_id: pid }))).toEqual({ project_id: pid, deleted: true });
    });
    expect(await backend.leftovers(env, pid)).toEqual({ roles: [], databases: [] });
    expect(output(await toolkit.call("neon_delete_project", { project_id: pid })).deleted).toBe(false);
  });

  it("deletes one database and reports unknown ids by field", async () => {
    const project = await createProject();
    const pid = project.project_id as string;
    output(await toolkit.call("neon_create_database", { project_id: pid, name: "gone" }));
    expect(output(await toolkit.call("neon_delete_database", { project_id: pid, database_name: "gone" })).deleted).toBe(true);
    expect((await backend.leftovers(env, pid)).databases).toEqual([{ datname: `co_${pid}_${project.branch_id as string}_neondb` }]);
    expect(errorText(await toolkit.call("neon_get_connection_string", { project_id: pid, database_name: "gone" }))).toContain(
      'database_name: no database "gone"',
    );
    expect(errorText(await toolkit.call("neon_create_database", { project_id: "zzzzzzzz", name: "x" }))).toContain('project_id: no local project "zzzzzzzz"');
    expect(errorText(await toolkit.call("neon_create_branch", { project_id: pid, parent_id: "brnope00" }))).toContain("parent_id: no branch");
  });

  it("rejects identifiers outside the strict pattern before any SQL", async () => {
    const project = await createProject();
    const text = errorText(await toolkit.call("neon_create_database", { project_id: project.project_id, name: 'x"; DROP DATABASE postgres; --' }));
    expect(text).toContain("name");
    expect(text).toContain("expected a database name");
  });
});

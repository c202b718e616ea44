import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { maskSecrets } from "../../../../secrets.ts";
import { LocalBackendError, localAccount, localPassword } from "../../local.ts";
import type { ToolkitEnv } from "../../tool.ts";
import { NEON_DATABASE_NAME, type NeonBackend, type NeonConnection } from "../neon-backend.ts";

/*
 * Neon on the local Postgres server. All state lives in the server itself:
 * - a project is a login role `co_<project_id>`; its COMMENT holds the project's name and branches;
 * - each database of each branch is a database `co_<project_id>_<branch_id>_<name>` owned by that
 *   role, with CONNECT revoked from PUBLIC; its COMMENT names its project, branch and database;
 * - a branch copies every database of its parent with `CREATE DATABASE … TEMPLATE`.
 * Mutations of one project hold a session advisory lock on it; identifiers are validated
 * against strict patterns and quoted.
 */

const PROJECT_ID = /^[a-z0-9]{8}$/;
export const DEFAULT_DATABASE = "neondb";
export const DEFAULT_BRANCH = "main";
const OBJECT_IN_USE = "55006";

interface ProjectMeta {
  kind: "credit-optimizer/neon-project";
  name: string;
  /** The data dir's local account (see localAccount): names are unique within one. */
  account?: string;
  default_branch_id: string;
  branches: Record<string, { name: string; parent_id: string | null }>;
}

interface DatabaseMeta {
  kind: "credit-optimizer/neon-database";
  project_id: string;
  branch_id: string;
  database_name: string;
}

export function randomId(length: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join("");
}

export const roleOf = (projectId: string): string => `co_${projectId}`;
export const physicalName = (projectId: string, branchId: string, database: string): string => `co_${projectId}_${branchId}_${database}`;

/**
 * The Postgres driver, loaded on first use: importing it costs a start of the toolkit about 45 ms of
 * CPU (its stream module builds a fetch `Response` to detect Cloudflare Workers, which loads Node's
 * fetch implementation), and only the local Postgres backends use it.
 */
export async function loadPg(): Promise<typeof pg> {
  return (await import("pg")).default;
}

/** Quotes an identifier after checking it against the patterns this backend generates. */
function ident(client: pg.Client, name: string): string {
  if (!/^co_[a-z0-9]{8}(_br[a-z0-9]{6}_[A-Za-z_][A-Za-z0-9_-]{0,39})?$/.test(name)) {
    throw new LocalBackendError(`refusing unexpected identifier "${name}"`);
  }
  return client.escapeIdentifier(name);
}

export function checkDatabaseName(name: string): string {
  if (!NEON_DATABASE_NAME.test(name)) throw new LocalBackendError(`database_name: invalid database name "${name}"`);
  return name;
}

async function withAdmin<T>(env: ToolkitEnv, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const { Client } = await loadPg();
  const client = new Client({ connectionString: env.localPostgresUrl, connectionTimeoutMillis: 5000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalBackendError(`local Postgres at ${maskSecrets(env.localPostgresUrl)} is not reachable: ${reason}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function lock(client: pg.Client, key: string): Promise<void> {
  await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`credit-optimizer:${key}`]);
}

async function readProject(client: pg.Client, projectId: string): Promise<ProjectMeta | undefined> {
  if (!PROJECT_ID.test(projectId)) return undefined;
  const res = await client.query<{ comment: string | null }>(
    "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1",
    [roleOf(projectId)],
  );
  return parseMeta<ProjectMeta>(res.rows[0]?.comment ?? null, "credit-optimizer/neon-project");
}

async function requireProject(client: pg.Client, projectId: string): Promise<ProjectMeta> {
  const meta = await readProject(client, projectId);
  if (!meta) throw new LocalBackendError(`project_id: no local project "${projectId}"`);
  return meta;
}

async function writeProject(client: pg.Client, projectId: string, meta: ProjectMeta): Promise<void> {
  await client.query(`COMMENT ON ROLE ${ident(client, roleOf(projectId))} IS ${client.escapeLiteral(JSON.stringify(meta))}`);
}

function parseMeta<T extends { kind: string }>(comment: string | null, kind: T["kind"]): T | undefined {
  if (comment === null) return undefined;
  try {
    const value = JSON.parse(comment) as T;
    return value.kind === kind ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The project's databases with their physical names, from the server's catalog. */
async function listDatabases(client: pg.Client, projectId: string): Promise<(DatabaseMeta & { physical: string })[]> {
  const res = await client.query<{ datname: string; comment: string | null }>(
    "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname",
    [`${roleOf(projectId)}_`],
  );
  return res.rows.flatMap((row) => {
    const meta = parseMeta<DatabaseMeta>(row.comment, "credit-optimizer/neon-database");
    return meta && meta.project_id === projectId ? [{ ...meta, physical: row.datname }] : [];
  });
}

export function resolveBranch(projectId: string, meta: Pick<ProjectMeta, "default_branch_id" | "branches">, branchId: string | undefined, field = "branch_id"): string {
  const id = branchId ?? meta.default_branch_id;
  if (!meta.branches[id]) throw new LocalBackendError(`${field}: no branch "${id}" in project ${projectId}`);
  return id;
}

/** The database a connection goes to by default: `neondb` when present, else the first. */
export function defaultDatabase<T extends { database_name: string }>(databases: T[]): T | undefined {
  return databases.find((d) => d.database_name === DEFAULT_DATABASE) ?? databases[0];
}

/** The project's role; another name given for `field` (owner_name, role_name) is an error: it is the only one. */
export function onlyRole(projectId: string, field: string, given: string | undefined): string {
  const role = roleOf(projectId);
  if (given !== undefined && given !== role) throw new LocalBackendError(`${field}: the local project's only role is ${role}`);
  return role;
}

/** Of a branch's databases, the named one or else the default one; none is an error naming the field. */
export function pickDatabase<T extends { database_name: string }>(projectId: string, branchId: string, databases: T[], name?: string): T {
  const db = name === undefined ? defaultDatabase(databases) : databases.find((d) => d.database_name === name);
  if (!db) {
    const what = name === undefined ? "no databases" : `no database "${name}"`;
    throw new LocalBackendError(`database_name: ${what} in branch ${branchId} of project ${projectId}`);
  }
  return db;
}

/** A branch can be deleted unless it is the project's default one or has a child branch. */
export function checkBranchDeletable(projectId: string, meta: Pick<ProjectMeta, "default_branch_id" | "branches">, branchId: string): void {
  if (branchId === meta.default_branch_id) {
    throw new LocalBackendError(`branch_id: ${branchId} is the default branch of project ${projectId} and cannot be deleted`);
  }
  const child = Object.entries(meta.branches).find(([, b]) => b.parent_id === branchId);
  if (child) throw new LocalBackendError(`branch_id: ${branchId} has a child branch ${child[0]}; delete that first`);
}

/** Creates one physical database (optionally copying a template), comments it, and closes it to other roles. */
async function createDatabase(client: pg.Client, meta: DatabaseMeta, template?: string): Promise<void> {
  const name = ident(client, physicalName(meta.project_id, meta.branch_id, checkDatabaseName(meta.database_name)));
  const owner = ident(client, roleOf(meta.project_id));
  const sql = `CREATE DATABASE ${name} OWNER ${owner}${template ? ` TEMPLATE ${ident(client, template)}` : ""}`;
  // A template must have no other sessions ("source database is being accessed by other users"):
  // end them first (Postgres would otherwise wait 5 s before failing), and again if one slipped in.
  if (template) await terminateSessions(client, template);
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(sql);
      break;
    } catch (error) {
      if (!template || (error as { code?: string }).code !== OBJECT_IN_USE || attempt >= 5) throw error;
      await terminateSessions(client, template);
      await sleep(100 * attempt);
    }
  }
  await client.query(`COMMENT ON DATABASE ${name} IS ${client.escapeLiteral(JSON.stringify(meta))}`);
  await client.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
}

async function terminateSessions(client: pg.Client, database: string): Promise<void> {
  await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database]);
}

async function dropDatabase(client: pg.Client, physical: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${ident(client, physical)} WITH (FORCE)`);
}

/** The projects of this data dir's local account on the Postgres server, by name. */
export async function listServerProjects(env: ToolkitEnv): Promise<{ project_id: string; name: string }[]> {
  const account = await localAccount(env.dataDir);
  return withAdmin(env, async (client) => {
    const roles = await client.query<{ rolname: string; comment: string | null }>(
      "SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE starts_with(rolname, 'co_') ORDER BY rolname",
    );
    return roles.rows.flatMap((row) => {
      const meta = parseMeta<ProjectMeta>(row.comment, "credit-optimizer/neon-project");
      return meta && meta.account === account ? [{ project_id: row.rolname.slice(3), name: meta.name }] : [];
    });
  });
}

/** Local Neon: projects, branches and databases on the local Postgres server. */
export function localNeonBackend(env: ToolkitEnv): NeonBackend {
  const admin = new URL(env.localPostgresUrl);
  const host = admin.hostname;
  const port = admin.port || "5432";

  async function connectionString(client: pg.Client, projectId: string, physical: string): Promise<string> {
    const role = roleOf(projectId);
    const password = await localPassword(env.dataDir, `postgres:${role}`);
    // Keeps the role's password equal to the derived one (it changes only with the data dir's key).
    await client.query(`ALTER ROLE ${ident(client, role)} PASSWORD ${client.escapeLiteral(password)}`);
    return `postgresql://${role}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(physical)}`;
  }

  async function connection(client: pg.Client, projectId: string, db: DatabaseMeta & { physical: string }): Promise<NeonConnection> {
    return {
      project_id: projectId,
      branch_id: db.branch_id,
      database_name: db.database_name,
      role_name: roleOf(projectId),
      host,
      connection_string: await connectionString(client, projectId, db.physical),
    };
  }

  return {
    createProject: (input) =>
      withAdmin(env, async (client) => {
        const account = await localAccount(env.dataDir);
        await lock(client, `neon-project-name:${account}:${input.name}`);
        const roles = await client.query<{ rolname: string; comment: string | null }>(
          "SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE starts_with(rolname, 'co_')",
        );
        for (const row of roles.rows) {
          const meta = parseMeta<ProjectMeta>(row.comment, "credit-optimizer/neon-project");
          if (meta?.name !== input.name || meta.account !== account) continue;
          const projectId = row.rolname.slice(3);
          const db = defaultDatabase((await listDatabases(client, projectId)).filter((d) => d.branch_id === meta.default_branch_id));
          if (!db) throw new LocalBackendError(`project ${projectId} ("${input.name}") has no database on its default branch`);
          return { ...(await connection(client, projectId, db)), name: input.name, created: false };
        }
        const projectId = randomId(8);
        const branchId = `br${randomId(6)}`;
        const role = ident(client, roleOf(projectId));
        await client.query(`CREATE ROLE ${role} LOGIN`);
        try {
          await writeProject(client, projectId, {
            kind: "credit-optimizer/neon-project",
            name: input.name,
            account,
            default_branch_id: branchId,
            branches: { [branchId]: { name: DEFAULT_BRANCH, parent_id: null } },
          });
          const db: DatabaseMeta = { kind: "credit-optimizer/neon-database", project_id: projectId, branch_id: branchId, database_name: DEFAULT_DATABASE };
          await createDatabase(client, db);
          const physical = physicalName(projectId, branchId, DEFAULT_DATABASE);
          return { ...(await connection(client, projectId, { ...db, physical })), name: input.name, created: true };
        } catch (error) {
          await dropDatabase(client, physicalName(projectId, branchId, DEFAULT_DATABASE)).catch(() => {});
          await client.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
          throw error;
        }
      }),

    createDatabase: (input) =>
      withAdmin(env, async (client) => {
        await lock(client, `neon-project:${input.project_id}`);
        const project = await requireProject(client, input.project_id);
        const branchId = resolveBranch(input.project_id, project, input.branch_id);
        onlyRole(input.project_id, "owner_name", input.owner_name);
        const existing = (await listDatabases(client, input.project_id)).find(
          (d) => d.branch_id === branchId && d.database_name === input.database_name,
        );
        const meta: DatabaseMeta = { kind: "credit-optimizer/neon-database", project_id: input.project_id, branch_id: branchId, database_name: checkDatabaseName(input.database_name) };
        if (!existing) await createDatabase(client, meta);
        const physical = physicalName(input.project_id, branchId, input.database_name);
        return {
          project_id: input.project_id,
          branch_id: branchId,
          database_name: input.database_name,
          owner_name: roleOf(input.project_id),
          connection_string: await connectionString(client, input.project_id, physical),
          created: existing === undefined,
        };
      }),

    createBranch: (input) =>
      withAdmin(env, async (client) => {
        await lock(client, `neon-project:${input.project_id}`);
        const project = await requireProject(client, input.project_id);
        const found = Object.entries(project.branches).find(([, b]) => input.name !== undefined && b.name === input.name);
        const branchId = found?.[0] ?? `br${randomId(6)}`;
        const parentId = found ? found[1].parent_id : resolveBranch(input.project_id, project, input.parent_id, "parent_id");
        if (!found) {
          const parentDatabases = (await listDatabases(client, input.project_id)).filter((d) => d.branch_id === parentId);
          const made: string[] = [];
          try {
            for (const source of parentDatabases) {
              const meta: DatabaseMeta = { kind: source.kind, project_id: input.project_id, branch_id: branchId, database_name: source.database_name };
              await createDatabase(client, meta, source.physical);
              made.push(physicalName(input.project_id, branchId, source.database_name));
            }
            project.branches[branchId] = { name: input.name ?? branchId, parent_id: parentId };
            await writeProject(client, input.project_id, project);
          } catch (error) {
            for (const physical of made) await dropDatabase(client, physical).catch(() => {});
            throw error;
          }
        }
        const db = defaultDatabase((await listDatabases(client, input.project_id)).filter((d) => d.branch_id === branchId));
        if (!db) throw new LocalBackendError(`branch ${branchId} of project ${input.project_id} has no databases`);
        const conn = await connection(client, input.project_id, db);
        return {
          project_id: input.project_id,
          branch_id: branchId,
          name: project.branches[branchId]?.name ?? branchId,
          parent_id: parentId,
          database_name: db.database_name,
          connection_string: conn.connection_string,
          created: found === undefined,
        };
      }),

    getConnectionString: (input) =>
      withAdmin(env, async (client) => {
        const project = await requireProject(client, input.project_id);
        const branchId = resolveBranch(input.project_id, project, input.branch_id);
        onlyRole(input.project_id, "role_name", input.role_name);
        const databases = (await listDatabases(client, input.project_id)).filter((d) => d.branch_id === branchId);
        return connection(client, input.project_id, pickDatabase(input.project_id, branchId, databases, input.database_name));
      }),

    deleteProject: (input) =>
      withAdmin(env, async (client) => {
        await lock(client, `neon-project:${input.project_id}`);
        if (!(await readProject(client, input.project_id))) return { deleted: false };
        for (const db of await listDatabases(client, input.project_id)) await dropDatabase(client, db.physical);
        await client.query(`DROP ROLE IF EXISTS ${ident(client, roleOf(input.project_id))}`);
        return { deleted: true };
      }),

    deleteDatabase: (input) =>
      withAdmin(env, async (client) => {
        await lock(client, `neon-project:${input.project_id}`);
        const project = await readProject(client, input.project_id);
        if (!project) return { deleted: false, branch_id: input.branch_id ?? null };
        const branchId = input.branch_id ?? project.default_branch_id;
        const db = (await listDatabases(client, input.project_id)).find(
          (d) => d.branch_id === branchId && d.database_name === input.database_name,
        );
        if (db) await dropDatabase(client, db.physical);
        return { deleted: db !== undefined, branch_id: branchId };
      }),

    deleteBranch: (input) =>
      withAdmin(env, async (client) => {
        await lock(client, `neon-project:${input.project_id}`);
        const project = await readProject(client, input.project_id);
        if (!project?.branches[input.branch_id]) return { deleted: false };
        checkBranchDeletable(input.project_id, project, input.branch_id);
        for (const db of await listDatabases(client, input.project_id)) {
          if (db.branch_id === input.branch_id) await dropDatabase(client, db.physical);
        }
        delete project.branches[input.branch_id];
        await writeProject(client, input.project_id, project);
        return { deleted: true };
      }),
  };
}

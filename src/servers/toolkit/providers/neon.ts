import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { createOnce, noteMaybeCreated } from "../create-once.ts";
import { createHttpClient, isProviderError } from "../http.ts";
import type { ToolkitEnv, ToolkitTool } from "../tool.ts";
import { listLocalNeonProjects, localNeon } from "./local/embedded-client.ts";
import { NEON_DATABASE_NAME, type NeonBackend, type NeonConnection, type NeonProject } from "./neon-backend.ts";

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

const projectId = z.string().regex(ID, "expected a project id (lowercase letters, digits, '-')").describe("Project id");
const branchId = z.string().regex(ID, "expected a branch id (lowercase letters, digits, '-')");
const databaseName = z
  .string()
  .regex(NEON_DATABASE_NAME, "expected a database name: a letter or '_', then letters, digits, '_' or '-' (at most 40)");

/** One project as a list shows it. */
export interface NeonProjectSummary {
  project_id: string;
  name: string;
}

function backend(env: ToolkitEnv): NeonBackend {
  return env.neon ? cloudNeonBackend(env.neon) : localNeon(env);
}

/** `name` (the seed's spelling) or `database_name`; a refinement requires one of them. */
const databaseNameFields = {
  name: databaseName.optional().describe("Database name"),
  database_name: databaseName.optional().describe("Database name (alias of name)"),
};
const hasDatabaseName = (v: { name?: string; database_name?: string }): boolean => v.name !== undefined || v.database_name !== undefined;
const databaseNameRequired = { message: "name or database_name is required", path: ["name"] };

function nameOf(input: { name?: string; database_name?: string }): string {
  return (input.database_name ?? input.name) as string;
}

const CreateProject = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "expected a project name: letters, digits, '_', '.', '-' (at most 63)").describe("Project name; an existing project of that name is returned"),
  region_id: z.string().min(1).optional().describe("Neon region, e.g. aws-us-east-2 (cloud only)"),
  pg_version: z.number().int().min(14).max(18).optional().describe("Postgres major version (cloud only)"),
});

const CreateDatabase = z
  .object({
    project_id: projectId,
    ...databaseNameFields,
    branch_id: branchId.optional().describe("Branch; the project's default branch when absent"),
    owner_name: z.string().min(1).max(63).optional().describe("Owning role; the project's owner role when absent"),
  })
  .refine(hasDatabaseName, databaseNameRequired);

const CreateBranch = z.object({
  project_id: projectId,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/, "expected a branch name: letters, digits, '_', '.', '/', '-'").optional().describe("Branch name; an existing branch of that name is returned"),
  parent_id: branchId.optional().describe("Parent branch; the default branch when absent"),
});

const GetConnectionString = z.object({
  project_id: projectId,
  branch_id: branchId.optional().describe("Branch; the default branch when absent"),
  database_name: databaseName.optional().describe("Database; the branch's first database when absent"),
  role_name: z.string().min(1).max(63).optional().describe("Role; the database owner when absent"),
  pooled: z.boolean().optional().describe("Pooled (pgbouncer) connection string (cloud only)"),
});

const ListProjects = z.object({});
const DeleteProject = z.object({ project_id: projectId });
const DeleteDatabase = z
  .object({ project_id: projectId, ...databaseNameFields, branch_id: branchId.optional().describe("Branch; the default branch when absent") })
  .refine(hasDatabaseName, databaseNameRequired);
const DeleteBranch = z.object({ project_id: projectId, branch_id: branchId.describe("Branch to delete (not the default branch)") });

export const neonCreateProject: ToolkitTool<typeof CreateProject> = {
  name: "neon_create_project",
  category: "neon",
  description: "Create a Neon Postgres project (default branch, database and owner role) or return the existing one of that name.",
  input: CreateProject,
  secretFields: ["connection_string"],
  rollback: (_input, output) =>
    output.created === true ? { tool: "neon_delete_project", arguments: { project_id: output.project_id } } : undefined,
  run: async (input, env, signal) => ({ ...(await backend(env).createProject(input, signal)) }),
};

export const neonCreateDatabase: ToolkitTool<typeof CreateDatabase> = {
  name: "neon_create_database",
  category: "neon",
  description: "Create a database in a Neon project's branch (default branch when none is given), or return it if it exists.",
  input: CreateDatabase,
  secretFields: ["connection_string"],
  rollback: (_input, output) =>
    output.created === true
      ? {
          tool: "neon_delete_database",
          arguments: { project_id: output.project_id, branch_id: output.branch_id, database_name: output.database_name },
        }
      : undefined,
  run: async (input, env, signal) => {
    const { project_id, branch_id, owner_name } = input;
    return { ...(await backend(env).createDatabase({ project_id, branch_id, owner_name, database_name: nameOf(input) }, signal)) };
  },
};

export const neonCreateBranch: ToolkitTool<typeof CreateBranch> = {
  name: "neon_create_branch",
  category: "neon",
  description:
    "Create a branch of a Neon project (a copy of its parent's data), or return the existing branch of that name. " +
    "On the local backend, sessions connected to the parent's databases are ended while they are copied.",
  input: CreateBranch,
  secretFields: ["connection_string"],
  rollback: (_input, output) =>
    output.created === true
      ? { tool: "neon_delete_branch", arguments: { project_id: output.project_id, branch_id: output.branch_id } }
      : undefined,
  run: async (input, env, signal) => ({ ...(await backend(env).createBranch(input, signal)) }),
};

export const neonGetConnectionString: ToolkitTool<typeof GetConnectionString> = {
  name: "neon_get_connection_string",
  readOnly: true,
  category: "neon",
  description: "Get a working Postgres connection string for a Neon project's branch, database and role.",
  input: GetConnectionString,
  secretFields: ["connection_string"],
  run: async (input, env, signal) => ({ ...(await backend(env).getConnectionString(input, signal)) }),
};

export const neonListProjects: ToolkitTool<typeof ListProjects> = {
  name: "neon_list_projects",
  readOnly: true,
  category: "neon",
  description: "List the account's Neon projects (id and name): what exists now.",
  input: ListProjects,
  run: async (_input, env, signal) => ({ projects: env.neon ? await cloudNeonBackend(env.neon).listProjects(signal) : await listLocalNeonProjects(env) }),
};

export const neonDeleteProject: ToolkitTool<typeof DeleteProject> = {
  name: "neon_delete_project",
  category: "neon",
  description: "Delete a Neon project with all its branches, databases and roles.",
  input: DeleteProject,
  destructive: true,
  run: async (input, env, signal) => ({ project_id: input.project_id, ...(await backend(env).deleteProject(input, signal)) }),
};

export const neonDeleteDatabase: ToolkitTool<typeof DeleteDatabase> = {
  name: "neon_delete_database",
  category: "neon",
  description: "Delete a database from a Neon project's branch (default branch when none is given).",
  input: DeleteDatabase,
  destructive: true,
  run: async (input, env, signal) => {
    const database_name = nameOf(input);
    const result = await backend(env).deleteDatabase({ project_id: input.project_id, branch_id: input.branch_id, database_name }, signal);
    return { project_id: input.project_id, database_name, ...result };
  },
};

export const neonDeleteBranch: ToolkitTool<typeof DeleteBranch> = {
  name: "neon_delete_branch",
  category: "neon",
  description: "Delete a branch of a Neon project with its databases (not the default branch, nor a branch with children).",
  input: DeleteBranch,
  destructive: true,
  run: async (input, env, signal) => ({ ...input, ...(await backend(env).deleteBranch(input, signal)) }),
};

export const neonTools: ToolkitTool[] = [
  neonCreateProject,
  neonCreateDatabase,
  neonCreateBranch,
  neonGetConnectionString,
  neonListProjects,
  neonDeleteProject,
  neonDeleteDatabase,
  neonDeleteBranch,
] as ToolkitTool[];

// ---------------------------------------------------------------------------------------------
// Cloud backend: https://console.neon.tech/api/v2

interface Operation {
  id: string;
  action?: string;
  status: string;
  error?: string;
}
interface Branch {
  id: string;
  name: string;
  parent_id?: string;
  default?: boolean;
  primary?: boolean;
}
interface Database {
  name: string;
  owner_name: string;
}

const OPERATION_DONE = new Set(["finished", "skipped"]);
// `error` is terminal as well (Neon's spec lists it beside `failed`); polling it would run to the timeout.
const OPERATION_FAILED = new Set(["failed", "error", "cancelling", "cancelled"]);

/** Neon's answer for an organization account that called /projects without `org_id`. */
const ORG_REQUIRED = /org_id is required/i;

/** Organizations resolved per account (keyed by a hash of API URL and key), so each call does not ask again. */
const resolvedOrgs = new Map<string, string>();
const accountKey = (baseUrl: string, apiKey: string): string => createHash("sha256").update(`${baseUrl}\n${apiKey}`).digest("hex");

interface CreatedProject {
  project: { id: string; name: string };
  branch: { id: string };
  databases: Database[];
  connection_uris: { connection_uri: string }[];
  endpoints: { host: string }[];
  operations: Operation[];
}

/** The Neon REST backend. Every mutation waits for its operations to finish before returning. */
export function cloudNeonBackend(config: NonNullable<ToolkitEnv["neon"]>): NeonBackend & { listProjects(signal?: AbortSignal): Promise<NeonProjectSummary[]> } {
  const http = createHttpClient({
    provider: "neon",
    baseUrl: config.baseUrl,
    auth: { type: "bearer", token: config.apiKey },
    retry: config.retry,
  });
  const pollIntervalMs = config.pollIntervalMs ?? 1000;
  const pollTimeoutMs = config.pollTimeoutMs ?? 300_000;
  const p = (projectId: string): string => `/projects/${encodeURIComponent(projectId)}`;
  const once = { delayMs: config.retry?.baseDelayMs };
  const account = accountKey(config.baseUrl, config.apiKey);
  let orgId = config.orgId ?? resolvedOrgs.get(account);

  /**
   * Runs a /projects call with the account's organization. Without NEON_ORG_ID it first tries
   * without one (personal accounts); on "org_id is required" it resolves the organization as
   * Neon's own MCP server does (the one console-managed organization of the user) and repeats.
   */
  async function withOrg<T>(call: (org: string | undefined) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await call(orgId);
    } catch (error) {
      if (orgId !== undefined || !isProviderError(error) || error.status !== 400 || !ORG_REQUIRED.test(error.message)) throw error;
      orgId = await resolveOrg(signal);
      resolvedOrgs.set(account, orgId);
      return call(orgId);
    }
  }

  async function resolveOrg(signal?: AbortSignal): Promise<string> {
    const res = await http.request<{ organizations?: { id: string; name: string; managed_by?: string }[] }>("/users/me/organizations", { signal });
    const orgs = (res.data.organizations ?? []).filter((o) => o.managed_by === undefined || o.managed_by === "console");
    const [only] = orgs;
    if (orgs.length === 1 && only) return only.id;
    if (orgs.length === 0) {
      throw new Error("neon: this account needs an organization (Neon answered \"org_id is required\") but lists none it can manage; set NEON_ORG_ID");
    }
    const list = orgs.map((o) => `${o.name} (${o.id})`).join(", ");
    throw new Error(`neon: this account belongs to several organizations; set NEON_ORG_ID to one of: ${list}`);
  }

  async function findProject(name: string, signal?: AbortSignal): Promise<{ id: string; name: string } | undefined> {
    const list = await withOrg(
      (org) => http.request<{ projects: { id: string; name: string }[] }>("/projects", { query: { search: name, limit: 400, org_id: org }, signal }),
      signal,
    );
    return list.data.projects.find((proj) => proj.name === name);
  }

  async function describeProject(found: { id: string; name: string }, signal?: AbortSignal): Promise<Omit<NeonProject, "created">> {
    const conn = await describeBranch(found.id, await defaultBranchId(found.id, signal), signal);
    return { ...conn, name: found.name };
  }

  async function waitForOperations(projectId: string, operations: Operation[] | undefined, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + pollTimeoutMs;
    for (const first of operations ?? []) {
      let op = first;
      while (!OPERATION_DONE.has(op.status)) {
        if (OPERATION_FAILED.has(op.status)) {
          throw new Error(`neon: operation ${op.id} (${op.action ?? "unknown"}) ended ${op.status}${op.error ? `: ${op.error}` : ""}`);
        }
        if (Date.now() > deadline) throw new Error(`neon: operation ${op.id} (${op.action ?? "unknown"}) still ${op.status} after ${pollTimeoutMs} ms`);
        await sleep(pollIntervalMs, undefined, { signal });
        const res = await http.request<{ operation: Operation }>(`${p(projectId)}/operations/${encodeURIComponent(op.id)}`, { signal });
        op = res.data.operation;
      }
    }
  }

  /**
   * Waits for the project's unfinished operations. An adopted resource (its create answered with
   * an error) comes without its operations, and a dependent call would meet 423 until they end.
   */
  async function settle(projectId: string, signal?: AbortSignal): Promise<void> {
    const res = await http.request<{ operations?: Operation[] }>(`${p(projectId)}/operations`, { query: { limit: 20 }, signal });
    const pending = (res.data.operations ?? []).filter((op) => !OPERATION_DONE.has(op.status) && !OPERATION_FAILED.has(op.status));
    await waitForOperations(projectId, pending, signal);
  }

  async function branches(projectId: string, signal?: AbortSignal): Promise<Branch[]> {
    return (await http.request<{ branches: Branch[] }>(`${p(projectId)}/branches`, { signal })).data.branches;
  }

  async function defaultBranchId(projectId: string, signal?: AbortSignal): Promise<string> {
    const all = await branches(projectId, signal);
    const found = all.find((b) => b.default === true) ?? all.find((b) => b.primary === true) ?? all[0];
    if (!found) throw new Error(`neon: project ${projectId} has no branches`);
    return found.id;
  }

  async function databases(projectId: string, branchId: string, signal?: AbortSignal): Promise<Database[]> {
    const path = `${p(projectId)}/branches/${encodeURIComponent(branchId)}/databases`;
    return (await http.request<{ databases: Database[] }>(path, { signal })).data.databases;
  }

  async function connectionUri(
    projectId: string,
    q: { branch_id: string; database_name: string; role_name: string; pooled?: boolean },
    signal?: AbortSignal,
  ): Promise<string> {
    return (await http.request<{ uri: string }>(`${p(projectId)}/connection_uri`, { query: q, signal })).data.uri;
  }

  /** Branch, first database and its owner, and a connection string for a branch. */
  async function describeBranch(projectId: string, branchId: string, signal?: AbortSignal): Promise<NeonConnection> {
    const [db] = await databases(projectId, branchId, signal);
    if (!db) throw new Error(`neon: branch ${branchId} of project ${projectId} has no databases`);
    const uri = await connectionUri(projectId, { branch_id: branchId, database_name: db.name, role_name: db.owner_name }, signal);
    return { project_id: projectId, branch_id: branchId, database_name: db.name, role_name: db.owner_name, host: new URL(uri).hostname, connection_string: uri };
  }

  async function deleted(call: () => Promise<void>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (error) {
      if (isProviderError(error) && error.status === 404) return false;
      throw error;
    }
  }

  return {
    async listProjects(signal) {
      const list = await withOrg(
        (org) => http.request<{ projects: { id: string; name: string }[] }>("/projects", { query: { limit: 400, org_id: org }, signal }),
        signal,
      );
      return list.data.projects.map((proj) => ({ project_id: proj.id, name: proj.name }));
    },

    async createProject(input, signal) {
      const existing = await findProject(input.name, signal);
      if (existing) return { ...(await describeProject(existing, signal)), created: false };
      const body = (org: string | undefined): Record<string, unknown> => {
        const project: Record<string, unknown> = { name: input.name };
        if (input.region_id) project.region_id = input.region_id;
        if (input.pg_version) project.pg_version = input.pg_version;
        if (org) project.org_id = org;
        return { project };
      };
      // After a 5xx or a timeout the project may exist: adopt the one of that name, else create again.
      const made = await createOnce<{ adopted: Omit<NeonProject, "created"> } | { created: CreatedProject }>(
        `project "${input.name}"`,
        {
          create: async () => ({
            created: (await withOrg((org) => http.request<CreatedProject>("/projects", { method: "POST", body: body(org), signal }), signal)).data,
          }),
          find: async () => {
            const found = await findProject(input.name, signal);
            if (!found) return undefined;
            await settle(found.id, signal);
            return { adopted: await describeProject(found, signal) };
          },
        },
        { ...once, signal },
      );
      if ("adopted" in made) return { ...made.adopted, created: true };
      const d = made.created;
      await waitForOperations(d.project.id, d.operations, signal);
      const uri = d.connection_uris[0]?.connection_uri;
      const db = d.databases[0];
      if (!uri || !db) throw new Error(`neon: project ${d.project.id} was created without a database or connection URI`);
      return {
        project_id: d.project.id,
        name: d.project.name,
        branch_id: d.branch.id,
        database_name: db.name,
        role_name: db.owner_name,
        connection_string: uri,
        host: d.endpoints[0]?.host ?? new URL(uri).hostname,
        created: true,
      };
    },

    async createDatabase(input, signal) {
      const branchId = input.branch_id ?? (await defaultBranchId(input.project_id, signal));
      const existing = await databases(input.project_id, branchId, signal);
      let db = existing.find((d) => d.name === input.database_name);
      const created = db === undefined;
      if (!db) {
        const owner = input.owner_name ?? existing[0]?.owner_name ?? (await firstRole(input.project_id, branchId, signal));
        const path = `${p(input.project_id)}/branches/${encodeURIComponent(branchId)}/databases`;
        db = await createOnce<Database>(
          `database "${input.database_name}"`,
          {
            create: async () => {
              const res = await http.request<{ database: Database; operations: Operation[] }>(path, {
                method: "POST",
                body: { database: { name: input.database_name, owner_name: owner } },
                signal,
              });
              await waitForOperations(input.project_id, res.data.operations, signal);
              return res.data.database;
            },
            find: async () => {
              const found = (await databases(input.project_id, branchId, signal)).find((d) => d.name === input.database_name);
              if (found) await settle(input.project_id, signal);
              return found;
            },
          },
          { ...once, signal },
        );
      }
      const uri = await connectionUri(input.project_id, { branch_id: branchId, database_name: db.name, role_name: db.owner_name }, signal);
      return { project_id: input.project_id, branch_id: branchId, database_name: db.name, owner_name: db.owner_name, connection_string: uri, created };
    },

    async createBranch(input, signal) {
      const existing = input.name === undefined ? undefined : (await branches(input.project_id, signal)).find((b) => b.name === input.name);
      let branch = existing;
      if (!branch) {
        const body: Record<string, unknown> = { branch: { name: input.name, parent_id: input.parent_id }, endpoints: [{ type: "read_write" }] };
        const create = async (): Promise<Branch> => {
          const res = await http.request<{ branch: Branch; operations: Operation[] }>(`${p(input.project_id)}/branches`, {
            method: "POST",
            body,
            signal,
          });
          await waitForOperations(input.project_id, res.data.operations, signal);
          return res.data.branch;
        };
        // A branch without a name cannot be looked up afterwards: it is created once, never again.
        const name = input.name;
        branch =
          name === undefined
            ? await create().catch((error: unknown) => noteMaybeCreated(error, `a branch of project ${input.project_id} (unnamed: name it to make this safe to repeat)`))
            : await createOnce<Branch>(
                `branch "${name}"`,
                {
                  create,
                  find: async () => {
                    const found = (await branches(input.project_id, signal)).find((b) => b.name === name);
                    if (found) await settle(input.project_id, signal);
                    return found;
                  },
                },
                { ...once, signal },
              );
      }
      const conn = await describeBranch(input.project_id, branch.id, signal);
      return {
        project_id: input.project_id,
        branch_id: branch.id,
        name: branch.name,
        parent_id: branch.parent_id ?? null,
        database_name: conn.database_name,
        connection_string: conn.connection_string,
        created: existing === undefined,
      };
    },

    async getConnectionString(input, signal) {
      const branchId = input.branch_id ?? (await defaultBranchId(input.project_id, signal));
      const dbs = await databases(input.project_id, branchId, signal);
      const db = input.database_name === undefined ? dbs[0] : dbs.find((d) => d.name === input.database_name);
      if (!db) {
        const what = input.database_name === undefined ? "no databases" : `no database "${input.database_name}"`;
        throw new Error(`database_name: ${what} in branch ${branchId} of project ${input.project_id}`);
      }
      const role = input.role_name ?? db.owner_name;
      const uri = await connectionUri(input.project_id, { branch_id: branchId, database_name: db.name, role_name: role, pooled: input.pooled }, signal);
      return { project_id: input.project_id, branch_id: branchId, database_name: db.name, role_name: role, host: new URL(uri).hostname, connection_string: uri };
    },

    async deleteProject(input, signal) {
      return { deleted: await deleted(async () => void (await http.request(p(input.project_id), { method: "DELETE", signal }))) };
    },

    async deleteDatabase(input, signal) {
      let branchId: string;
      try {
        branchId = input.branch_id ?? (await defaultBranchId(input.project_id, signal));
      } catch (error) {
        if (isProviderError(error) && error.status === 404) return { deleted: false, branch_id: input.branch_id ?? null };
        throw error;
      }
      const path = `${p(input.project_id)}/branches/${encodeURIComponent(branchId)}/databases/${encodeURIComponent(input.database_name)}`;
      const ok = await deleted(async () => {
        const res = await http.request<{ operations?: Operation[] }>(path, { method: "DELETE", signal });
        await waitForOperations(input.project_id, res.data?.operations, signal);
      });
      return { deleted: ok, branch_id: branchId };
    },

    async deleteBranch(input, signal) {
      const path = `${p(input.project_id)}/branches/${encodeURIComponent(input.branch_id)}`;
      const ok = await deleted(async () => {
        const res = await http.request<{ operations?: Operation[] }>(path, { method: "DELETE", signal });
        await waitForOperations(input.project_id, res.data?.operations, signal);
      });
      return { deleted: ok };
    },
  };

  async function firstRole(projectId: string, branchId: string, signal?: AbortSignal): Promise<string> {
    const res = await http.request<{ roles: { name: string; protected?: boolean }[] }>(
      `${p(projectId)}/branches/${encodeURIComponent(branchId)}/roles`,
      { signal },
    );
    const role = res.data.roles.find((r) => r.protected !== true);
    if (!role) throw new Error(`owner_name: branch ${branchId} of project ${projectId} has no role to own the database`);
    return role.name;
  }
}

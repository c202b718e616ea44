import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { writeJsonAtomic } from "../../../../atomic-write.ts";
import { LocalBackendError, localPassword } from "../../local.ts";
import type { NeonBackend, NeonConnection } from "../neon-backend.ts";
import { EmbeddedPostgres } from "./embedded-postgres.ts";
import { EMBEDDED_DIR, embeddedDir, HOST_FILE, hostFile, NEON_METHODS, readState, STATE_FILE, type EmbeddedState, type HostInfo } from "./embedded-state.ts";
import { takeLock } from "./lock-file.ts";
import {
  DEFAULT_BRANCH,
  DEFAULT_DATABASE,
  checkBranchDeletable,
  checkDatabaseName,
  defaultDatabase,
  onlyRole,
  physicalName,
  pickDatabase,
  randomId,
  resolveBranch,
  roleOf,
} from "./postgres.ts";

/*
 * The embedded Neon host: a detached process per toolkit data dir that serves the Neon local
 * backend on PGlite (see embedded-postgres.ts) when no Postgres server is reachable. It keeps
 * projects, branches and databases in `<dataDir>/embedded-postgres/state.json`, serves each
 * database on its own port, and takes calls one at a time on a loopback HTTP endpoint whose port
 * and bearer token it writes to `host.json` (mode 0600). It restarts its databases on the ports
 * they had, and exits once no project is left. embedded-client.ts starts it and calls it.
 */

const LOCK_FILE = "host.lock";
/** An empty host (started for a call that never came) exits after this long. */
const IDLE_EMPTY_MS = 60_000;

export { EMBEDDED_DIR, embeddedDir, hostFile, readState, type EmbeddedState, type HostInfo };

type Database = EmbeddedState["databases"][string] & { physical: string };

/** The Neon backend on embedded databases; the host runs its calls one at a time. */
class EmbeddedNeon implements NeonBackend {
  constructor(
    private readonly toolkitDataDir: string,
    private readonly state: EmbeddedState,
    private readonly cluster: EmbeddedPostgres,
  ) {}

  /** Serves every database of the saved state again, on its old port when that is free. */
  async restore(): Promise<void> {
    for (const [name, db] of Object.entries(this.state.databases)) {
      db.port = await this.cluster.open({ name, role: roleOf(db.project_id), port: db.port });
    }
    await this.save();
  }

  get empty(): boolean {
    return Object.keys(this.state.projects).length === 0;
  }

  private async save(): Promise<void> {
    const file = path.join(embeddedDir(this.toolkitDataDir), STATE_FILE);
    await writeJsonAtomic(file, this.state);
  }

  private project(projectId: string): EmbeddedState["projects"][string] {
    const project = this.state.projects[projectId];
    if (!project) throw new LocalBackendError(`project_id: no local project "${projectId}"`);
    return project;
  }

  private databases(projectId: string, branchId?: string): Database[] {
    return Object.entries(this.state.databases)
      .filter(([, d]) => d.project_id === projectId && (branchId === undefined || d.branch_id === branchId))
      .map(([physical, d]) => ({ ...d, physical }))
      .sort((a, b) => a.physical.localeCompare(b.physical));
  }

  private async connectionString(db: Database): Promise<string> {
    const role = roleOf(db.project_id);
    const password = await localPassword(this.toolkitDataDir, `postgres:${role}`);
    return `postgresql://${role}:${encodeURIComponent(password)}@127.0.0.1:${db.port}/${encodeURIComponent(db.physical)}`;
  }

  private async connection(db: Database): Promise<NeonConnection> {
    return {
      project_id: db.project_id,
      branch_id: db.branch_id,
      database_name: db.database_name,
      role_name: roleOf(db.project_id),
      host: "127.0.0.1",
      connection_string: await this.connectionString(db),
    };
  }

  /** Creates a database (empty, or a copy of `source`) and records it. */
  private async addDatabase(projectId: string, branchId: string, databaseName: string, source?: string): Promise<Database> {
    const physical = physicalName(projectId, branchId, checkDatabaseName(databaseName));
    const spec = { name: physical, role: roleOf(projectId) };
    const port = source ? await this.cluster.copy(source, spec) : await this.cluster.create(spec);
    this.state.databases[physical] = { project_id: projectId, branch_id: branchId, database_name: databaseName, port };
    await this.save();
    return { ...this.state.databases[physical], physical };
  }

  private async dropDatabase(physical: string): Promise<void> {
    await this.cluster.drop(physical);
    delete this.state.databases[physical];
    await this.save();
  }

  async createProject(input: { name: string }): ReturnType<NeonBackend["createProject"]> {
    const found = Object.entries(this.state.projects).find(([, p]) => p.name === input.name);
    if (found) {
      const [projectId, project] = found;
      const db = defaultDatabase(this.databases(projectId, project.default_branch_id));
      if (!db) throw new LocalBackendError(`project ${projectId} ("${input.name}") has no database on its default branch`);
      return { ...(await this.connection(db)), name: input.name, created: false };
    }
    const projectId = randomId(8);
    const branchId = `br${randomId(6)}`;
    this.state.projects[projectId] = { name: input.name, default_branch_id: branchId, branches: { [branchId]: { name: DEFAULT_BRANCH, parent_id: null } } };
    try {
      const db = await this.addDatabase(projectId, branchId, DEFAULT_DATABASE);
      return { ...(await this.connection(db)), name: input.name, created: true };
    } catch (error) {
      await this.deleteProject({ project_id: projectId });
      throw error;
    }
  }

  async createDatabase(input: { project_id: string; branch_id?: string; database_name: string; owner_name?: string }): ReturnType<NeonBackend["createDatabase"]> {
    const branchId = resolveBranch(input.project_id, this.project(input.project_id), input.branch_id);
    const role = onlyRole(input.project_id, "owner_name", input.owner_name);
    const existing = this.databases(input.project_id, branchId).find((d) => d.database_name === input.database_name);
    const db = existing ?? (await this.addDatabase(input.project_id, branchId, input.database_name));
    return {
      project_id: input.project_id,
      branch_id: branchId,
      database_name: input.database_name,
      owner_name: role,
      connection_string: await this.connectionString(db),
      created: existing === undefined,
    };
  }

  async createBranch(input: { project_id: string; name?: string; parent_id?: string }): ReturnType<NeonBackend["createBranch"]> {
    const project = this.project(input.project_id);
    const found = Object.entries(project.branches).find(([, b]) => input.name !== undefined && b.name === input.name);
    const branchId = found?.[0] ?? `br${randomId(6)}`;
    const parentId = found ? found[1].parent_id : resolveBranch(input.project_id, project, input.parent_id, "parent_id");
    if (!found) {
      const made: string[] = [];
      try {
        for (const source of this.databases(input.project_id, parentId ?? undefined)) {
          made.push((await this.addDatabase(input.project_id, branchId, source.database_name, source.physical)).physical);
        }
      } catch (error) {
        for (const physical of made) await this.dropDatabase(physical).catch(() => {});
        throw error;
      }
      project.branches[branchId] = { name: input.name ?? branchId, parent_id: parentId };
      await this.save();
    }
    const db = defaultDatabase(this.databases(input.project_id, branchId));
    if (!db) throw new LocalBackendError(`branch ${branchId} of project ${input.project_id} has no databases`);
    return {
      project_id: input.project_id,
      branch_id: branchId,
      name: project.branches[branchId]?.name ?? branchId,
      parent_id: parentId,
      database_name: db.database_name,
      connection_string: await this.connectionString(db),
      created: found === undefined,
    };
  }

  async getConnectionString(input: { project_id: string; branch_id?: string; database_name?: string; role_name?: string }): Promise<NeonConnection> {
    const branchId = resolveBranch(input.project_id, this.project(input.project_id), input.branch_id);
    onlyRole(input.project_id, "role_name", input.role_name);
    return this.connection(pickDatabase(input.project_id, branchId, this.databases(input.project_id, branchId), input.database_name));
  }

  async deleteProject(input: { project_id: string }): ReturnType<NeonBackend["deleteProject"]> {
    if (!this.state.projects[input.project_id]) return { deleted: false };
    for (const db of this.databases(input.project_id)) await this.dropDatabase(db.physical);
    delete this.state.projects[input.project_id];
    await this.save();
    return { deleted: true };
  }

  async deleteDatabase(input: { project_id: string; branch_id?: string; database_name: string }): ReturnType<NeonBackend["deleteDatabase"]> {
    const project = this.state.projects[input.project_id];
    if (!project) return { deleted: false, branch_id: input.branch_id ?? null };
    const branchId = input.branch_id ?? project.default_branch_id;
    const db = this.databases(input.project_id, branchId).find((d) => d.database_name === input.database_name);
    if (db) await this.dropDatabase(db.physical);
    return { deleted: db !== undefined, branch_id: branchId };
  }

  async deleteBranch(input: { project_id: string; branch_id: string }): ReturnType<NeonBackend["deleteBranch"]> {
    const project = this.state.projects[input.project_id];
    if (!project?.branches[input.branch_id]) return { deleted: false };
    checkBranchDeletable(input.project_id, project, input.branch_id);
    for (const db of this.databases(input.project_id, input.branch_id)) await this.dropDatabase(db.physical);
    delete project.branches[input.branch_id];
    await this.save();
    return { deleted: true };
  }
}

/** The host process: serves the saved databases and takes Neon calls until no project is left. */
export async function runEmbeddedHost(toolkitDataDir: string): Promise<void> {
  const dir = embeddedDir(toolkitDataDir);
  const lock = path.join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!(await takeLock(lock))) return;
  const cluster = new EmbeddedPostgres(dir, (role) => localPassword(toolkitDataDir, `postgres:${role}`));
  const neon = new EmbeddedNeon(toolkitDataDir, await readState(toolkitDataDir), cluster);
  const token = randomBytes(24).toString("base64url");
  const restored = neon.restore();
  restored.catch((error: unknown) => console.error(`embedded Postgres: could not restart the saved databases: ${String(error)}`));
  let queue: Promise<unknown> = restored.catch(() => {});
  let idle: NodeJS.Timeout | undefined;
  /** Calls taken and not yet answered: the host never exits with one. */
  let pending = 0;
  let exiting = false;

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/call" || req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(403).end();
        return;
      }
      let call: { method: (typeof NEON_METHODS)[number]; input: never };
      try {
        call = JSON.parse(body) as typeof call;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const { method, input } = call;
      if (!NEON_METHODS.includes(method)) {
        res.writeHead(404).end();
        return;
      }
      if (exiting) {
        res.writeHead(503).end(); // the caller starts a new host once this one is gone
        return;
      }
      pending++;
      const run = queue.then(() => restored).then((): Promise<unknown> => neon[method](input));
      queue = run.catch(() => {});
      run.then(
        (result) => ({ result }),
        (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
      ).then((reply) => {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply), () => {
          pending--;
          if (neon.empty) scheduleExit(0);
        });
      });
    });
  });

  async function shutdown(): Promise<void> {
    if (exiting) return;
    exiting = true;
    server.close();
    await queue;
    await cluster.close();
    await rm(path.join(dir, HOST_FILE), { force: true });
    await rm(lock, { force: true });
    process.exit(0);
  }
  function scheduleExit(afterMs: number): void {
    clearTimeout(idle);
    idle = setTimeout(() => void (neon.empty && pending === 0 ? shutdown() : undefined), afterMs);
  }
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const info: HostInfo = { pid: process.pid, port: (server.address() as { port: number }).port, token };
  const file = path.join(dir, HOST_FILE);
  await writeJsonAtomic(file, info);
  await queue;
  if (neon.empty) scheduleExit(IDLE_EMPTY_MS);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runEmbeddedHost(process.argv[2] ?? "");
}

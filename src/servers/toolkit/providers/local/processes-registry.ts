import { mkdir, readFile, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeJsonAtomic } from "../../../../atomic-write.ts";
import { openJson, sealJson } from "../../local.ts";

/** A running (or starting) local deploy of a project. */
export interface LocalDeployment {
  id: string;
  pid: number;
  /** The process's start time (see `startTime`), to recognise it later; absent without /proc. */
  started?: string;
  port: number;
  url: string;
  /** The directory the app runs from. */
  sourceDir: string;
  source: "source_dir" | "default-app";
  logFile: string;
  /** True once `GET /health` answered 200. */
  ready: boolean;
  startedAt: string;
}

/** A project (Vercel-like) or app (Fly-like) of the local backend. */
export interface LocalProject {
  id: string;
  name: string;
  /** Where deploys run from unless a deploy names another directory. */
  sourceDir: string;
  /** Environment variables / secrets set on the project. */
  env: Record<string, string>;
  /** Bumped on every env change (Fly's secrets `version`). */
  envVersion: number;
  createdAt: string;
  deployment?: LocalDeployment;
}

type Projects = Record<string, LocalProject>;

/** A project as written to disk: its env sealed. */
type StoredProject = Omit<LocalProject, "env"> & { envSealed?: string };

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key has settled (in this process). */
export async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const current = previous.then(fn, fn);
  const settled = current.catch(() => undefined);
  queues.set(key, settled);
  try {
    return await current;
  } finally {
    if (queues.get(key) === settled) queues.delete(key);
  }
}

/** A lock older than this is left over from a process that died holding it. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/** Another process held a registry file's lock for too long. */
export class RegistryLockError extends Error {
  readonly code = "LOCK_TIMEOUT";

  constructor(lock: string) {
    super(`${lock} has been held by another process for over ${LOCK_WAIT_MS} ms`);
    this.name = "RegistryLockError";
  }
}

export function isRegistryLockError(error: unknown): error is RegistryLockError {
  return error instanceof RegistryLockError;
}

/**
 * Runs `fn` holding the lock of `file`: in this process (`withLock`), and across processes (two
 * CLI runs, say) through `<file>.lock`, a directory, since creating one is atomic.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  return withLock(file, async () => {
    const lock = `${file}.lock`;
    await acquire(lock);
    try {
      return await fn();
    } finally {
      await rmdir(lock).catch(() => undefined);
    }
  });
}

async function acquire(lock: string): Promise<void> {
  await mkdir(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > STALE_LOCK_MS) await rmdir(lock).catch(() => undefined);
    else if (Date.now() > deadline) throw new RegistryLockError(lock);
    else await sleep(25);
  }
}

/**
 * The on-disk registry of local projects and their processes: one JSON file per provider kind
 * under `<dataDir>/deploys/`, rewritten atomically (temp file + rename), so a later process can
 * find and stop what an earlier one started. Env values (connection strings, tokens) are sealed
 * with the data dir's key: never at rest in plain text.
 */
export class ProcessRegistry {
  readonly dir: string;
  readonly file: string;

  constructor(
    private readonly dataDir: string,
    kind: string,
  ) {
    this.dir = path.join(dataDir, "deploys");
    this.file = path.join(this.dir, `${kind}.json`);
  }

  /** The project with this id or name. */
  async find(idOrName: string): Promise<LocalProject | undefined> {
    return findIn(await this.read(), idOrName);
  }

  async list(): Promise<LocalProject[]> {
    return Object.values(await this.read());
  }

  /** Locked read-modify-write of the registry; `fn` mutates the projects map in place. */
  async update<T>(fn: (projects: Projects) => T): Promise<T> {
    return withFileLock(this.file, async () => {
      const projects = await this.read();
      const result = fn(projects);
      await this.write(projects);
      return result;
    });
  }

  private async read(): Promise<Projects> {
    try {
      const parsed = JSON.parse(await readFile(this.file, "utf8")) as { projects?: Record<string, StoredProject> };
      const projects: Projects = {};
      for (const [key, { envSealed, ...project }] of Object.entries(parsed.projects ?? {})) {
        projects[key] = { ...project, env: envSealed ? ((await openJson(this.dataDir, envSealed)) as Record<string, string>) : {} };
      }
      return projects;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }

  private async write(projects: Projects): Promise<void> {
    const stored: Record<string, StoredProject> = {};
    for (const [key, { env, ...project }] of Object.entries(projects)) stored[key] = { ...project, envSealed: await sealJson(this.dataDir, env) };
    await writeJsonAtomic(this.file, { projects: stored });
  }
}

/** Finds a project by id or by name in a projects map. */
export function findIn(projects: Projects, idOrName: string): LocalProject | undefined {
  return projects[idOrName] ?? Object.values(projects).find((p) => p.id === idOrName);
}

import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

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

/**
 * The on-disk registry of local projects and their processes: one JSON file per provider kind
 * under `<dataDir>/deploys/`, rewritten atomically (temp file + rename), so a later process can
 * find and stop what an earlier one started.
 */
export class ProcessRegistry {
  readonly dir: string;
  readonly file: string;

  constructor(dataDir: string, kind: string) {
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
    return withLock(this.file, async () => {
      const projects = await this.read();
      const result = fn(projects);
      await this.write(projects);
      return result;
    });
  }

  private async read(): Promise<Projects> {
    try {
      const parsed = JSON.parse(await readFile(this.file, "utf8")) as { projects?: Projects };
      return parsed.projects ?? {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }

  private async write(projects: Projects): Promise<void> {
    await writeJsonAtomic(this.file, { projects });
  }
}

/** Writes JSON through a temp file and a rename, so readers never see a half-written file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
  await rename(temp, file);
}

/** Finds a project by id or by name in a projects map. */
export function findIn(projects: Projects, idOrName: string): LocalProject | undefined {
  return projects[idOrName] ?? Object.values(projects).find((p) => p.id === idOrName);
}

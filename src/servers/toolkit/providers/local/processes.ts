import { randomBytes } from "node:crypto";
import { readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ToolkitEnv } from "../../tool.ts";
import {
  appCommand,
  defaultAppCommand,
  ensureNodeModules,
  freePort,
  isRunning,
  lastLines,
  LocalDeployError,
  startApp,
  startTime,
  stopProcessGroup,
  waitForHealth,
  type AppCommand,
} from "./processes-launch.ts";
import { findIn, ProcessRegistry, withLock, type LocalDeployment, type LocalProject } from "./processes-registry.ts";

export { isLocalDeployError, LocalDeployError } from "./processes-launch.ts";
export type { LocalDeployment, LocalProject } from "./processes-registry.ts";

/** Which provider's projects: Vercel-like projects and Fly-like apps live in separate registries. */
export type LocalKind = "vercel" | "fly";

export interface DeployOptions {
  /** Run from this directory instead of the project's; it must exist. */
  sourceDir?: string;
  /** Environment for this deploy only, over the project's env. */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/** The workspace folder generated apps live in. */
export function workspaceRoot(env: ToolkitEnv): string {
  return env.workspaceRoot ?? path.join(os.homedir(), "workspace");
}

/**
 * Local stand-in for Vercel projects and Fly apps: projects recorded on disk, deploys run as
 * local processes on a free port and checked through `GET /health`.
 */
export class LocalDeployments {
  private readonly registry: ProcessRegistry;

  constructor(
    private readonly env: ToolkitEnv,
    private readonly kind: LocalKind,
  ) {
    this.registry = new ProcessRegistry(env.dataDir, kind);
  }

  /** Records a project named `name` (source: `<workspace root>/<name>`); an existing one is returned as is. */
  async create(name: string, id: string): Promise<{ project: LocalProject; created: boolean }> {
    return this.registry.update((projects) => {
      const existing = projects[name];
      if (existing) return { project: existing, created: false };
      const project: LocalProject = {
        id,
        name,
        sourceDir: path.join(workspaceRoot(this.env), name),
        env: {},
        envVersion: 0,
        createdAt: new Date().toISOString(),
      };
      projects[name] = project;
      return { project, created: true };
    });
  }

  async get(idOrName: string): Promise<LocalProject> {
    const project = await this.registry.find(idOrName);
    if (!project) throw notFound(this.kind, idOrName);
    return project;
  }

  /** Sets (upserts) environment variables on a project; returns the new env version. */
  async setEnv(idOrName: string, values: Record<string, string>): Promise<number> {
    return this.registry.update((projects) => {
      const project = findIn(projects, idOrName);
      if (!project) throw notFound(this.kind, idOrName);
      project.env = { ...project.env, ...values };
      project.envVersion += 1;
      return project.envVersion;
    });
  }

  /** Starts the project's app (stopping its previous deploy) and waits until it is healthy. */
  async deploy(idOrName: string, options: DeployOptions = {}): Promise<{ project: LocalProject; deployment: LocalDeployment }> {
    const { name } = await this.get(idOrName);
    return withLock(this.projectKey(name), async () => {
      await this.stopCurrent(name);
      const project = await this.get(name);
      const command = await resolveApp(project, options.sourceDir);
      const deployment = await this.launch(project, command, { ...project.env, ...options.env }, options.signal);
      return { project: await this.get(name), deployment };
    });
  }

  /** The project and deployment with this deployment id, and whether its process still runs. */
  async findDeployment(id: string): Promise<{ project: LocalProject; deployment: LocalDeployment; running: boolean }> {
    for (const project of await this.registry.list()) {
      if (project.deployment?.id === id) {
        const { pid, started } = project.deployment;
        return { project, deployment: project.deployment, running: await isRunning(pid, started) };
      }
    }
    throw new LocalDeployError("NOT_FOUND", `local ${this.kind} deployment "${id}" does not exist`);
  }

  /** Every project, with whether its current deployment's process still runs. */
  async list(): Promise<{ project: LocalProject; running: boolean }[]> {
    const projects = await this.registry.list();
    return Promise.all(
      projects.map(async (project) => ({ project, running: project.deployment ? await isRunning(project.deployment.pid, project.deployment.started) : false })),
    );
  }

  /** Stops the project's process and removes its record and deploy logs; false when there was no such project. */
  async delete(idOrName: string): Promise<boolean> {
    const project = await this.registry.find(idOrName);
    if (!project) return false;
    await withLock(this.projectKey(project.name), async () => {
      await this.stopCurrent(project.name);
      await this.registry.update((projects) => {
        delete projects[project.name];
      });
      const logs = path.join(this.registry.dir, "logs");
      const prefix = `${this.kind}-${project.name}-dpl_`;
      const names = await readdir(logs).catch(() => []);
      await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(path.join(logs, n), { force: true })));
    });
    return true;
  }

  private async launch(
    project: LocalProject,
    command: AppCommand,
    env: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<LocalDeployment> {
    const id = `dpl_${randomBytes(8).toString("hex")}`;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const logFile = path.join(this.registry.dir, "logs", `${this.kind}-${project.name}-${id}.log`);
    const child = await startApp(command, { ...env, PORT: String(port) }, logFile);
    const deployment: LocalDeployment = {
      id,
      pid: child.pid,
      started: await startTime(child.pid),
      port,
      url,
      sourceDir: command.cwd,
      source: command.source,
      logFile,
      ready: false,
      startedAt: new Date().toISOString(),
    };
    await this.record(project.name, deployment);
    try {
      await waitForHealth({ url, child, timeoutMs: this.env.localDeployTimeoutMs ?? 30_000, signal });
    } catch (error) {
      await this.stopCurrent(project.name);
      const output = await lastLines(logFile, Object.values(env));
      throw new LocalDeployError(
        "START_FAILED",
        `local deploy of "${project.name}" from ${command.cwd} failed: ${(error as Error).message}` +
          (output ? `\nlast output:\n${output}` : "\n(no output)"),
      );
    }
    const ready = { ...deployment, ready: true };
    await this.record(project.name, ready);
    return ready;
  }

  private async record(name: string, deployment: LocalDeployment | undefined): Promise<void> {
    await this.registry.update((projects) => {
      const project = projects[name];
      if (project) project.deployment = deployment;
    });
  }

  private async stopCurrent(name: string): Promise<void> {
    const project = await this.registry.find(name);
    if (!project?.deployment) return;
    await stopProcessGroup(project.deployment.pid, project.deployment.started);
    await this.record(name, undefined);
  }

  private projectKey(name: string): string {
    return `${this.registry.file}#${name}`;
  }
}

/** The app to run: an explicit directory (must exist), else the project's, else the built-in app. */
async function resolveApp(project: LocalProject, sourceDir: string | undefined): Promise<AppCommand> {
  if (sourceDir !== undefined) {
    const dir = path.resolve(sourceDir);
    if (!(await isDirectory(dir))) throw new LocalDeployError("INVALID_APP", `source_dir ${dir} is not a directory`);
    return prepare(dir);
  }
  return (await isDirectory(project.sourceDir)) ? prepare(project.sourceDir) : defaultAppCommand();
}

async function prepare(dir: string): Promise<AppCommand> {
  const command = await appCommand(dir);
  await ensureNodeModules(dir);
  return command;
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

function notFound(kind: LocalKind, idOrName: string): LocalDeployError {
  return new LocalDeployError("NOT_FOUND", `local ${kind} project "${idOrName}" does not exist`);
}

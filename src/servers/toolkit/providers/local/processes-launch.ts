import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { access, lstat, mkdir, readFile, symlink } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { maskSecrets } from "../../../../secrets.ts";

export type LocalDeployErrorCode = "NOT_FOUND" | "INVALID_APP" | "START_FAILED" | "STOP_FAILED";

/** A failure of the local deploy backend: unknown project, unusable app, an app that did not start or stop. */
export class LocalDeployError extends Error {
  readonly code: LocalDeployErrorCode;

  constructor(code: LocalDeployErrorCode, message: string) {
    super(message);
    this.name = "LocalDeployError";
    this.code = code;
  }
}

export function isLocalDeployError(error: unknown): error is LocalDeployError {
  return error instanceof LocalDeployError;
}

/** How to start an app: `process.execPath` with these arguments, from `cwd`. */
export interface AppCommand {
  cwd: string;
  args: string[];
  source: "source_dir" | "default-app";
}

/** The built-in health-check app deployed when a project has no source directory. */
export const DEFAULT_APP = fileURLToPath(new URL("./default-app.mjs", import.meta.url));

const START_SCRIPT = /^(node|tsx)\s+([^\s-][^\s]*)$/;

/**
 * Reads `<sourceDir>/package.json` and turns `scripts.start` into a command. Only `node <file>`
 * and `tsx <file>` are accepted (no shell is ever used); `tsx` runs as node with tsx's ESM loader.
 */
export async function appCommand(sourceDir: string): Promise<AppCommand> {
  const manifest = path.join(sourceDir, "package.json");
  let start: unknown;
  try {
    const pkg = JSON.parse(await readFile(manifest, "utf8")) as { scripts?: Record<string, unknown> };
    start = pkg.scripts?.start;
  } catch (error) {
    throw new LocalDeployError("INVALID_APP", `cannot read ${manifest}: ${(error as Error).message}`);
  }
  const match = typeof start === "string" ? START_SCRIPT.exec(start.trim()) : null;
  if (!match?.[1] || !match[2]) {
    throw new LocalDeployError(
      "INVALID_APP",
      `${manifest}: scripts.start must be "node <file>" or "tsx <file>", got ${JSON.stringify(start ?? null)}`,
    );
  }
  const file = path.resolve(sourceDir, match[2]);
  try {
    await access(file);
  } catch {
    throw new LocalDeployError("INVALID_APP", `${manifest}: scripts.start names ${match[2]}, which does not exist`);
  }
  const args = match[1] === "tsx" ? ["--import", tsxLoader(), file] : [file];
  return { cwd: sourceDir, args, source: "source_dir" };
}

/** The command of the built-in health-check app. */
export function defaultAppCommand(): AppCommand {
  return { cwd: path.dirname(DEFAULT_APP), args: [DEFAULT_APP], source: "default-app" };
}

export function tsxLoader(): string {
  return fileURLToPath(import.meta.resolve("tsx/esm"));
}

/** This installation's node_modules directory (the one holding tsx, pg and redis). */
function installedNodeModules(): string {
  const loader = tsxLoader();
  const marker = `${path.sep}node_modules${path.sep}`;
  return loader.slice(0, loader.lastIndexOf(marker) + marker.length - 1);
}

/** Links `<sourceDir>/node_modules` to this installation's node_modules when the app has none. */
export async function ensureNodeModules(sourceDir: string): Promise<void> {
  const link = path.join(sourceDir, "node_modules");
  try {
    await lstat(link);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    await symlink(installedNodeModules(), link, "dir");
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the app detached in its own process group, output appended to `logFile`. */
export async function startApp(
  command: AppCommand,
  env: Record<string, string>,
  logFile: string,
): Promise<ChildProcess & { pid: number }> {
  await mkdir(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, "a", 0o600);
  try {
    const child = spawn(process.execPath, command.args, {
      cwd: command.cwd,
      env,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    child.unref();
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    if (child.pid === undefined) throw new LocalDeployError("START_FAILED", `${process.execPath} did not start`);
    return child as ChildProcess & { pid: number };
  } finally {
    closeSync(fd);
  }
}

export interface HealthWait {
  url: string;
  child: ChildProcess;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Polls `GET <url>/health` until it answers 200; fails when the app exits or the time is up. The
 * exit is read from the child's own status, not an event: an app that dies at once may exit before
 * this is called (the caller records the deployment first).
 */
export async function waitForHealth({ url, child, timeoutMs, signal }: HealthWait): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await healthy(url)) return;
    const exited = child.signalCode ? `was killed by ${child.signalCode}` : child.exitCode !== null ? `exited with code ${child.exitCode}` : undefined;
    if (exited) throw new Error(`the app ${exited} before GET /health answered 200`);
    if (Date.now() >= deadline) throw new Error(`GET ${url}/health did not answer 200 within ${timeoutMs} ms`);
    await sleep(200, undefined, { signal });
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The last lines of an app's output, with the given secret values removed. */
export async function lastLines(logFile: string, secrets: string[], count = 20): Promise<string> {
  try {
    const text = await readFile(logFile, "utf8");
    return maskSecrets(text.trimEnd().split("\n").slice(-count).join("\n"), secrets);
  } catch {
    return "";
  }
}

/**
 * When the process started, in clock ticks since boot (from /proc); undefined where there is no
 * /proc or no such process. Recorded at launch, it tells the app from a later process that got
 * the same pid (after a reboot, say), which must never be signalled.
 */
export async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** True while the process `pid` runs and is the one that started at `started` (when that is known). */
export async function isRunning(pid: number, started: string | undefined): Promise<boolean> {
  if (started === undefined) return signalGroup(pid, 0);
  return (await startTime(pid)) === started;
}

/** Stops the app's process group: SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
export async function stopProcessGroup(pid: number, started: string | undefined, graceMs = 5_000): Promise<void> {
  if (!(await isRunning(pid, started)) || !signalGroup(pid, "SIGTERM")) return;
  if (await gone(pid, graceMs)) return;
  signalGroup(pid, "SIGKILL");
  if (!(await gone(pid, 5_000))) throw new LocalDeployError("STOP_FAILED", `process group ${pid} survived SIGKILL`);
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!signalGroup(pid, 0)) return true;
    await sleep(50);
  }
  return !signalGroup(pid, 0);
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH" || code === "EPERM") return false;
    throw error;
  }
}

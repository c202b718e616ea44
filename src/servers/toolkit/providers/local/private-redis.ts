import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeAtomic, writeJsonAtomic } from "../../../../atomic-write.ts";
import { findExecutable } from "../../../../find-executable.ts";
import type { SecretStore } from "../../../../secrets.ts";
import { maskSecrets } from "../../../../secrets.ts";
import { LocalBackendError } from "../../local.ts";
import type { ToolkitEnv } from "../../tool.ts";
import { withLock } from "./lock-file.ts";
import { freePort, isRunning, lastLines, startTime } from "./processes-launch.ts";

/*
 * The private Redis: a real `redis-server` started, detached, for one toolkit data dir when no
 * Redis answers at the default address (there is no maintained Redis written in JavaScript to
 * embed). It listens on its own 127.0.0.1 port, keeps its data (append-only file) and its ACL file
 * in `<dataDir>/private-redis`, turns the `default` user off and admits the toolkit as `co_admin`
 * with a generated password kept in the secret store. `server.json` (mode 0600) names its pid and
 * start time, port and the password's secret handle; a recorded server that is gone (a crash, a
 * reboot) is started again on the same port with the same data, so deployed apps keep working.
 * Starting, and every change to its databases, holds `server.lock`, so concurrent CLI runs share
 * one server and the last delete can stop it without racing a create.
 */

/** `LOCAL_REDIS_URL=private`: always use the private redis-server. */
export const PRIVATE_REDIS = "private";
export const PRIVATE_REDIS_DIR = "private-redis";
export const ADMIN_USER = "co_admin";
const SERVER_FILE = "server.json";
const LOCK_FILE = "server.lock";
const ACL_FILE = "users.acl";
const LOG_FILE = "redis.log";
const START_TIMEOUT_MS = 15_000;
const LOCK_TIMEOUT_MS = 60_000;

/** One line each: what to do when no Redis can be had. */
export const REDIS_FIXES = [
  "install redis-server (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) and run again",
  "or set LOCAL_REDIS_URL=redis://… to a Redis that is running",
  "or set UPSTASH_EMAIL and UPSTASH_API_KEY to use Upstash",
] as const;

export interface PrivateServer {
  pid: number;
  /** Start time of `pid` (see startTime): a reused pid is not taken for the server. */
  started?: string;
  port: number;
  /** Secret-store handle of the `co_admin` password. */
  password: string;
}

/** Where the admin connection goes: host, port and credentials. */
export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** True for the private redis-server (its ACL file is saved after each change). */
  private: boolean;
}

export const privateRedisDir = (dataDir: string): string => path.join(dataDir, PRIVATE_REDIS_DIR);
const serverFile = (dataDir: string): string => path.join(privateRedisDir(dataDir), SERVER_FILE);

export async function readPrivateServer(dataDir: string): Promise<PrivateServer | undefined> {
  try {
    return JSON.parse(await readFile(serverFile(dataDir), "utf8")) as PrivateServer;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The recorded private server when its process is alive. */
export async function runningPrivateServer(dataDir: string): Promise<PrivateServer | undefined> {
  const server = await readPrivateServer(dataDir);
  return server && (await isRunning(server.pid, server.started)) ? server : undefined;
}

/** The `redis-server` binary on the configured PATH, if any. */
export function findRedisServer(env: ToolkitEnv): Promise<string | undefined> {
  return findExecutable("redis-server", env.searchPath);
}

/**
 * Runs `fn` on the private server, started (again) first when it is not running, holding the
 * server lock throughout. `start: false` runs `fn` with undefined instead of starting a server
 * that was never made (nothing can be in it).
 */
export async function withPrivateRedis<T>(env: ToolkitEnv, start: boolean, fn: (target: RedisTarget | undefined) => Promise<T>): Promise<T> {
  const dir = privateRedisDir(env.dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return withLock(path.join(dir, LOCK_FILE), LOCK_TIMEOUT_MS, "the private Redis", async () => {
    const recorded = await readPrivateServer(env.dataDir);
    if (!recorded && !start) return fn(undefined);
    return fn(await ensureRunning(env, recorded));
  });
}

async function ensureRunning(env: ToolkitEnv, recorded: PrivateServer | undefined): Promise<RedisTarget> {
  if (recorded && (await isRunning(recorded.pid, recorded.started))) {
    try {
      const target = await targetOf(env, recorded);
      await waitUntilAnswering(target, recorded.pid); // it may still be loading its data
      return target;
    } catch {
      // Ours (same pid and start time) but hung, or its password is gone from the secret store:
      // stop it and start it again on its data, with the admin password written anew.
      await stopServer(recorded);
    }
  }
  return startServer(env, recorded);
}

async function targetOf(env: ToolkitEnv, server: PrivateServer): Promise<RedisTarget> {
  return { host: "127.0.0.1", port: server.port, username: ADMIN_USER, password: await revealPassword(env, server.password), private: true };
}

const revealed = new Map<string, Promise<string>>();

/** Loaded when needed: SQLite and pg are more than a preflight or `doctor` should load. */
async function openSecrets(env: ToolkitEnv): Promise<SecretStore> {
  const { SecretStore } = await import("../../../../secrets.ts");
  return SecretStore.open(env.secretStore?.home ?? env.dataDir, { keyHex: env.secretStore?.keyHex });
}

async function revealPassword(env: ToolkitEnv, handle: string): Promise<string> {
  let password = revealed.get(handle);
  if (!password) {
    password = (async () => {
      const store = await openSecrets(env);
      try {
        return store.reveal(handle);
      } finally {
        await store.close();
      }
    })();
    password.catch(() => revealed.delete(handle));
    revealed.set(handle, password);
  }
  return password;
}

/** Generates the admin password and keeps it in the secret store; returns it and its handle. */
async function newPassword(env: ToolkitEnv): Promise<{ password: string; handle: string }> {
  const password = randomBytes(24).toString("base64url");
  const store = await openSecrets(env);
  try {
    const { password: handle } = await store.protect({ password });
    revealed.set(handle, Promise.resolve(password));
    return { password, handle };
  } finally {
    await store.close();
  }
}

/**
 * Writes the ACL file: `default` off, `co_admin` with the password's SHA-256 (Redis's `#` form, so
 * the password itself is never on disk), and the database users saved before, kept.
 */
async function writeAclFile(file: string, password: string): Promise<void> {
  let saved: string[] = [];
  try {
    saved = (await readFile(file, "utf8")).split("\n").filter((line) => line.trim() !== "" && !/^user (default|co_admin) /.test(line));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const hash = createHash("sha256").update(password).digest("hex");
  const lines = ["user default off resetkeys resetchannels -@all", `user ${ADMIN_USER} on #${hash} ~* &* +@all`, ...saved];
  await writeAtomic(file, `${lines.join("\n")}\n`);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function startServer(env: ToolkitEnv, recorded: PrivateServer | undefined): Promise<RedisTarget> {
  const binary = await findRedisServer(env);
  if (!binary) {
    const why = env.localRedisUrl === PRIVATE_REDIS ? "LOCAL_REDIS_URL=private, but" : `no Redis answers at ${maskSecrets(env.localRedisUrl)} and`;
    throw new LocalBackendError(`${why} redis-server is not on the PATH: ${REDIS_FIXES.join(", ")}`);
  }
  const dir = privateRedisDir(env.dataDir);
  await mkdir(path.join(dir, "data"), { recursive: true, mode: 0o700 });
  const previous = recorded ? await revealPassword(env, recorded.password).catch(() => undefined) : undefined;
  const { password, handle } = previous && recorded ? { password: previous, handle: recorded.password } : await newPassword(env);
  await writeAclFile(path.join(dir, ACL_FILE), password);
  // The same port as before when it is free, so apps deployed with the old URL reconnect.
  let port = recorded && (await portIsFree(recorded.port)) ? recorded.port : await freePort();
  for (let attempt = 1; ; attempt++) {
    try {
      const pid = await launch(binary, dir, port);
      const server: PrivateServer = { pid, started: await startTime(pid), port, password: handle };
      const target = await targetOf(env, server);
      await waitUntilAnswering(target, pid);
      await writeJsonAtomic(serverFile(env.dataDir), server);
      console.error(
        recorded
          ? `toolkit: the private redis-server was not running; started it again on 127.0.0.1:${port} (data in ${dir})`
          : `toolkit: ${env.localRedisUrl === PRIVATE_REDIS ? "LOCAL_REDIS_URL=private" : `no Redis at ${maskSecrets(env.localRedisUrl)}`}; started a private redis-server on 127.0.0.1:${port} (data in ${dir})`,
      );
      return target;
    } catch (error) {
      // Another process may have taken the port between the check and the bind: once more on a new one.
      if (attempt >= 2) {
        const log = await lastLines(path.join(dir, LOG_FILE), [password], 5);
        throw new LocalBackendError(`the private redis-server did not start: ${(error as Error).message}${log ? `\n${log}` : ""}`);
      }
      port = await freePort();
    }
  }
}

async function launch(binary: string, dir: string, port: number): Promise<number> {
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--protected-mode", "yes",
    "--dir", path.join(dir, "data"),
    "--aclfile", path.join(dir, ACL_FILE),
    "--appendonly", "yes",
    // Database metadata lives in the keyspace: a crash must not lose a database made a moment ago.
    "--appendfsync", "always",
    "--save", "",
    "--daemonize", "no",
    "--logfile", path.join(dir, LOG_FILE),
  ];
  const log = openSync(path.join(dir, LOG_FILE), "a", 0o600);
  try {
    // Detached in its own process group: it outlives the toolkit process and the CLI run.
    const child = spawn(binary, args, { cwd: dir, detached: true, stdio: ["ignore", log, log], env: {} });
    child.unref();
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    if (child.pid === undefined) throw new Error(`${binary} did not start`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

async function waitUntilAnswering(target: RedisTarget, pid: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await answers(target)) return;
    if (!(await isRunning(pid, undefined))) throw new Error("redis-server exited during start-up");
    if (Date.now() >= deadline) {
      stopPid(pid);
      throw new Error(`redis-server did not answer within ${START_TIMEOUT_MS / 1000} s`);
    }
    await sleep(50);
  }
}

/** Whether the admin user can run PING there. */
async function answers(target: RedisTarget): Promise<boolean> {
  const { createClient } = await import("./redis-client.ts");
  const client = createClient({
    socket: { host: target.host, port: target.port, connectTimeout: 1000, reconnectStrategy: false },
    username: target.username,
    password: target.password,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

function stopPid(pid: number): void {
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // already gone
  }
}

/** SIGTERM (it writes its append-only file and exits), SIGKILL after 10 s; resolves once it is gone. */
async function stopServer(server: PrivateServer): Promise<void> {
  if (!(await isRunning(server.pid, server.started))) return;
  stopPid(server.pid);
  const deadline = Date.now() + 10_000;
  while ((await isRunning(server.pid, server.started)) && Date.now() < deadline) await sleep(50);
  if (await isRunning(server.pid, server.started)) {
    try {
      process.kill(-server.pid, "SIGKILL");
    } catch {
      // gone in between
    }
    while ((await isRunning(server.pid, server.started)) && Date.now() < deadline + 5_000) await sleep(50);
  }
}

/**
 * Stops the private server and removes its data and files (its log stays): called holding the
 * server lock once its last database is deleted, and by tests and `doctor` clean-ups.
 */
export async function removePrivateRedis(dataDir: string): Promise<void> {
  const server = await readPrivateServer(dataDir);
  if (server) await stopServer(server);
  const dir = privateRedisDir(dataDir);
  await rm(serverFile(dataDir), { force: true });
  await rm(path.join(dir, "data"), { recursive: true, force: true });
  await rm(path.join(dir, ACL_FILE), { force: true });
}

/** Stops the private server of `dataDir` and removes its data, holding its lock (test and manual clean-up). */
export async function stopPrivateRedis(dataDir: string): Promise<void> {
  const dir = privateRedisDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await withLock(path.join(dir, LOCK_FILE), LOCK_TIMEOUT_MS, "the private Redis", () => removePrivateRedis(dataDir));
}

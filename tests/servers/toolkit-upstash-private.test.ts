import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { isRunning, freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";
import { privateRedisDir, readPrivateServer, stopPrivateRedis } from "../../src/servers/toolkit/providers/local/private-redis.ts";
import type { ToolkitEnv } from "../../src/servers/toolkit/tool.ts";
import { SecretStore } from "../../src/secrets.ts";
import { connectToolkit, errorText, localEnv, output, uniqueName } from "./toolkit-core-client.ts";

/*
 * The private redis-server: with nothing at the default address and redis-server on the PATH, the
 * local Upstash starts one for the data dir, shares it between toolkit instances, restarts it after
 * a crash with its databases, and stops it once the last database is deleted.
 */

/** A port nothing listens on: bound, then closed. */

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await stopPrivateRedis(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

async function privateEnv(overrides: Partial<ToolkitEnv> = {}): Promise<ToolkitEnv> {
  const env = localEnv({ localRedisUrl: `redis://127.0.0.1:${await freePort()}`, localRedisFallback: true, searchPath: process.env.PATH, ...overrides });
  env.secretStore = { home: env.dataDir };
  dirs.push(env.dataDir);
  return env;
}

async function withUrl<T>(url: string, fn: (client: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 3000 } });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

async function waitGone(pid: number, started: string | undefined): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!(await isRunning(pid, started))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("local Upstash on a private redis-server", () => {
  it("starts one, shares it, restarts it after a crash with its data, and stops it after the last delete", async () => {
    const env = await privateEnv();
    const toolkit = await connectToolkit(env);
    const other = await connectToolkit(env);
    try {
      const first = output(await toolkit.call("upstash_create_database", { database_name: uniqueName("cache") }));
      const server = await readPrivateServer(env.dataDir);
      expect(server).toBeDefined();
      expect(await isRunning(server!.pid, server!.started)).toBe(true);
      expect(first).toMatchObject({ endpoint: "127.0.0.1", port: server!.port, created: true });
      expect(first.port).not.toBe(Number(new URL(env.localRedisUrl).port));
      const prefix = String(first.key_prefix);
      await withUrl(String(first.url), async (client) => {
        await client.set(`${prefix}page`, "cached");
        await expect(client.set("elsewhere", "x")).rejects.toThrow(/NOPERM/);
      });

      // ACLs on: a connection without credentials may not run commands.
      await expect(withUrl(`redis://127.0.0.1:${server!.port}`, (client) => client.ping())).rejects.toThrow(/NOAUTH|NOPERM|WRONGPASS|auth/i);

      // A second toolkit instance (another CLI run) reuses the same server.
      const second = output(await other.call("upstash_create_database", { database_name: uniqueName("cache") }));
      expect((await readPrivateServer(env.dataDir))?.pid).toBe(server!.pid);
      expect(second.port).toBe(server!.port);

      // The admin password is in the secret store only: not in the server's files or its log.
      const store = await SecretStore.open(env.dataDir);
      const adminPassword = store.reveal(server!.password);
      await store.close();
      expect(server!.password).toMatch(/^secret:\/\/[0-9a-f]{32}$/);
      await withUrl(`redis://co_admin:${encodeURIComponent(adminPassword)}@127.0.0.1:${server!.port}`, async (client) => expect(await client.ping()).toBe("PONG"));
      const files = readdirSync(privateRedisDir(env.dataDir), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(files.map((e) => e.name)).toEqual(expect.arrayContaining(["server.json", "users.acl", "redis.log"]));
      for (const entry of files) expect(readFileSync(path.join(entry.parentPath, entry.name)).includes(adminPassword), entry.name).toBe(false);

      // A crash: the next call starts it again on the same port with its databases and keys.
      process.kill(-server!.pid, "SIGKILL");
      expect(await waitGone(server!.pid, server!.started)).toBe(true);
      const again = output(await toolkit.call("upstash_get_database", { database_id: first.database_id }));
      const restarted = await readPrivateServer(env.dataDir);
      expect(restarted?.pid).not.toBe(server!.pid);
      expect(again.port).toBe(server!.port);
      expect(await withUrl(String(first.url), (client) => client.get(`${prefix}page`))).toBe("cached");

      // The last delete stops it and removes its data.
      output(await toolkit.call("upstash_delete_database", { database_id: first.database_id }));
      expect(await isRunning(restarted!.pid, restarted!.started)).toBe(true);
      output(await other.call("upstash_delete_database", { database_id: second.database_id }));
      expect(await waitGone(restarted!.pid, restarted!.started)).toBe(true);
      expect(await readPrivateServer(env.dataDir)).toBeUndefined();
      expect(readdirSync(privateRedisDir(env.dataDir))).not.toContain("data");
    } finally {
      await toolkit.close();
      await other.close();
    }
  });

  it("concurrent first calls from two toolkit instances start one server between them", async () => {
    const env = await privateEnv();
    const [a, b] = await Promise.all([connectToolkit(env), connectToolkit(env)]);
    try {
      const made = await Promise.all([a, b, a, b].map((t) => t.call("upstash_create_database", { database_name: uniqueName("cache") }).then(output)));
      expect(new Set(made.map((db) => db.port)).size).toBe(1);
      // redis-server names itself by its address in ps: one process serves that port.
      const processes = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((line) => line.includes("redis-server "));
      expect(processes.filter((line) => line.includes(`127.0.0.1:${String(made[0]!.port)}`))).toHaveLength(1);
      expect((await readPrivateServer(env.dataDir))?.port).toBe(made[0]!.port);
      for (const db of made) output(await a.call("upstash_delete_database", { database_id: db.database_id }));
      expect(await readPrivateServer(env.dataDir)).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("uses a Redis that answers at the default address, and LOCAL_REDIS_URL=private always the private one", async () => {
    const served = await privateEnv({ localRedisUrl: "redis://127.0.0.1:6379" });
    const forced = await privateEnv({ localRedisUrl: "private", localRedisFallback: false });
    for (const [env, onPrivate] of [[served, false], [forced, true]] as const) {
      const toolkit = await connectToolkit(env);
      try {
        const db = output(await toolkit.call("upstash_create_database", { database_name: uniqueName("cache") }));
        const server = await readPrivateServer(env.dataDir);
        expect(server !== undefined).toBe(onPrivate);
        expect(db.port).toBe(onPrivate ? server!.port : 6379);
        output(await toolkit.call("upstash_delete_database", { database_id: db.database_id }));
        expect(await readPrivateServer(env.dataDir)).toBeUndefined();
      } finally {
        await toolkit.close();
      }
    }
  });

  it("without redis-server on the PATH says what to install or set, and starts nothing", async () => {
    const bin = mkdtempSync(path.join(tmpdir(), "co-bin-"));
    dirs.push(bin);
    symlinkSync("/usr/bin/git", path.join(bin, "git"));
    const env = await privateEnv({ searchPath: bin });
    const toolkit = await connectToolkit(env);
    try {
      const result = await toolkit.call("upstash_create_database", { database_name: uniqueName("cache") });
      expect(result.isError).toBe(true);
      const text = errorText(result);
      expect(text).toContain("redis-server is not on the PATH");
      expect(text).toContain("apt-get install -y redis-server");
      expect(text).toContain("brew install redis");
      expect(text).toContain("LOCAL_REDIS_URL");
      expect(text).toContain("UPSTASH_EMAIL and UPSTASH_API_KEY");
      expect(await readPrivateServer(env.dataDir)).toBeUndefined();
    } finally {
      await toolkit.close();
    }
  });
});

import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToolkit, errorText, LOCAL_REDIS_URL, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

type Redis = ReturnType<typeof createClient>;

async function withRedis<T>(url: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

describe("Upstash local backend on the local Redis server", () => {
  let toolkit: ToolkitConnection;
  const env = localEnv();
  const databases: string[] = [];

  beforeAll(async () => {
    toolkit = await connectToolkit(env);
  });
  afterAll(async () => {
    for (const database_id of databases) await toolkit.call("upstash_delete_database", { database_id });
    await toolkit.close();
  });

  async function create(name = uniqueName("cache")): Promise<Record<string, unknown>> {
    const db = output(await toolkit.call("toolkit_call", { category: "upstash", tool_name: "upstash_create_database", arguments: { name, region: "us-east-1" } }));
    databases.push(db.database_id as string);
    return db;
  }

  it("returns a redis:// URL with its own user and password that a standard client can use", async () => {
    const db = await create();
    const id = db.database_id as string;
    expect(db).toMatchObject({ endpoint: "127.0.0.1", port: 6379, username: `co_${id}`, key_prefix: `co:${id}:`, primary_region: "us-east-1", created: true });
    expect(db.url).toBe(`redis://co_${id}:${db.password as string}@127.0.0.1:6379`);
    expect(db.rollback).toEqual({ tool: "upstash_delete_database", arguments: { database_id: id } });
    const value = await withRedis(db.url as string, async (c) => {
      await c.hSet(`${db.key_prefix as string}page`, { url: "https://example.com", status: "200" });
      return c.hGetAll(`${db.key_prefix as string}page`);
    });
    expect(value).toEqual({ url: "https://example.com", status: "200" });
    const wrong = new URL(db.url as string);
    wrong.password = "not-the-password";
    await expect(withRedis(wrong.toString(), (c) => c.ping())).rejects.toThrow(/WRONGPASS/);
  });

  it("keeps databases apart: neither can read, write or list the other's keys", async () => {
    const a = await create();
    const b = await create();
    const aKey = `${a.key_prefix as string}secret`;
    await withRedis(a.url as string, (c) => c.set(aKey, "a-only"));
    await withRedis(b.url as string, async (c) => {
      await expect(c.get(aKey)).rejects.toThrow(/NOPERM/);
      await expect(c.set(aKey, "overwritten")).rejects.toThrow(/NOPERM/);
      await expect(c.set("unprefixed", "x")).rejects.toThrow(/NOPERM/);
      await expect(c.keys("*")).rejects.toThrow(/NOPERM/);
      await expect(c.scan("0")).rejects.toThrow(/NOPERM/);
      await expect(c.flushAll()).rejects.toThrow(/NOPERM/);
    });
    expect(await withRedis(a.url as string, (c) => c.get(aKey))).toBe("a-only");
  });

  it("is idempotent by name, also from another server instance, and get returns a working URL", async () => {
    const name = uniqueName("same");
    const first = await create(name);
    const other = await connectToolkit(env);
    try {
      const second = output(await other.call("upstash_create_database", { database_name: name }));
      expect(second).toMatchObject({ database_id: first.database_id, database_name: name, created: false });
      expect(second).not.toHaveProperty("rollback");
      const got = output(await other.call("upstash_get_database", { database_id: first.database_id }));
      expect(await withRedis(got.url as string, (c) => c.ping())).toBe("PONG");
    } finally {
      await other.close();
    }
    expect(await withRedis(first.url as string, (c) => c.ping())).toBe("PONG");
  });

  it("creates each name once under concurrent calls", async () => {
    const name = uniqueName("race");
    const results = await Promise.all([1, 2, 3].map(() => toolkit.call("upstash_create_database", { name })));
    const outputs = results.map(output);
    databases.push(outputs[0]?.database_id as string);
    expect(new Set(outputs.map((o) => o.database_id)).size).toBe(1);
    expect(outputs.filter((o) => o.created === true)).toHaveLength(1);
  });

  it("delete removes the ACL user, the keys and the metadata", async () => {
    const db = await create();
    const id = db.database_id as string;
    await withRedis(db.url as string, async (c) => {
      for (let i = 0; i < 20; i++) await c.set(`${db.key_prefix as string}k${i}`, String(i));
    });
    expect(output(await toolkit.call("upstash_delete_database", { database_id: id }))).toEqual({ database_id: id, deleted: true });
    await withRedis(LOCAL_REDIS_URL, async (admin) => {
      expect((await admin.sendCommand(["ACL", "USERS"])) as string[]).not.toContain(`co_${id}`);
      expect(await admin.keys(`co:${id}:*`)).toEqual([]);
      expect(await admin.keys(`co:upstash:*${id}*`)).toEqual([]);
      expect(await admin.get(`co:upstash:name:${db.database_name as string}`)).toBeNull();
    });
    await expect(withRedis(db.url as string, (c) => c.ping())).rejects.toThrow(/WRONGPASS/);
    expect(output(await toolkit.call("upstash_delete_database", { database_id: id })).deleted).toBe(false);
    expect(errorText(await toolkit.call("upstash_get_database", { database_id: id }))).toContain(`database_id: no local Redis database "${id}"`);
  });

  it("restores a database's ACL user on get (after a Redis restart without an ACL file)", async () => {
    const db = await create();
    await withRedis(db.url as string, (c) => c.set(`${db.key_prefix as string}kept`, "yes"));
    await withRedis(LOCAL_REDIS_URL, (admin) => admin.sendCommand(["ACL", "DELUSER", `co_${db.database_id as string}`]));
    await expect(withRedis(db.url as string, (c) => c.ping())).rejects.toThrow(/WRONGPASS/);
    const got = output(await toolkit.call("upstash_get_database", { database_id: db.database_id }));
    expect(got.url).toBe(db.url);
    expect(await withRedis(got.url as string, (c) => c.get(`${db.key_prefix as string}kept`))).toBe("yes");
  });

  it("names the URL it tried when no Redis server answers", async () => {
    const down = await connectToolkit(localEnv({ localRedisUrl: "redis://:s3cretpass@127.0.0.1:1" }));
    try {
      const text = errorText(await down.call("upstash_create_database", { name: uniqueName("down") }));
      expect(text).toContain("local Redis at redis://:[redacted]@127.0.0.1:1 is not reachable");
      expect(text).not.toContain("s3cretpass");
    } finally {
      await down.close();
    }
  });
});

import { randomBytes } from "node:crypto";
import { maskSecrets } from "../../../../secrets.ts";
import { LocalBackendError, localAccount, localPassword } from "../../local.ts";
import type { ToolkitEnv } from "../../tool.ts";
import type { UpstashBackend, UpstashDatabase } from "../upstash-backend.ts";
import { answersAt } from "./availability.ts";
import { PRIVATE_REDIS, readPrivateServer, removePrivateRedis, withPrivateRedis, type RedisTarget } from "./private-redis.ts";
import type { RedisClient } from "./redis-client.ts";

/*
 * Upstash on the local Redis server. All state lives in Redis itself:
 * - a database is an ACL user `co_<id>` that may only touch keys and channels under `co:<id>:`,
 *   with every command except admin and dangerous ones and keyspace listing (SCAN, RANDOMKEY);
 * - `co:upstash:db:<id>` (a hash) holds its name, region and platform;
 * - `co:upstash:name:<name>` maps a name to its id; claiming it with SET NX makes create idempotent.
 * The ACL user is (re)applied on every create and get, so a Redis restart without an ACL file
 * loses nothing that a get does not restore. On the private redis-server (private-redis.ts) the
 * users are also saved to its ACL file, so deployed apps keep their access across its restarts.
 * Passwords are derived from the data dir's key, never stored.
 */

const ID = /^[a-f0-9]{12}$/;
const metaKey = (id: string): string => `co:upstash:db:${id}`;
const nameKey = (account: string, name: string): string => `co:upstash:name:${account}:${name}`;
const userOf = (id: string): string => `co_${id}`;
const prefixOf = (id: string): string => `co:${id}:`;

type Admin = RedisClient;

/** The connection a backend call runs on: where it is, and whether it is the private server. */
interface Session {
  client: Admin;
  target: RedisTarget;
}

/** The configured server: connected to by its URL as given (TLS, database number, credentials kept). */
function serverTarget(url: string): RedisTarget & { url: string } {
  const parsed = new URL(url);
  return { url, host: parsed.hostname, port: Number(parsed.port || "6379"), private: false };
}

async function connect(target: RedisTarget & { url?: string }, label: string): Promise<Admin> {
  const socket = { connectTimeout: 5000, reconnectStrategy: false } as const;
  const { createClient } = await import("./redis-client.ts");
  const client = target.url
    ? createClient({ url: target.url, socket })
    : createClient({ socket: { ...socket, host: target.host, port: target.port }, username: target.username, password: target.password });
  client.on("error", () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    if (client.isOpen) client.destroy();
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalBackendError(`local Redis at ${label} is not reachable: ${reason}`);
  }
}

/** Whether something answers at the configured address (asked once per environment). */
const reachability = new WeakMap<ToolkitEnv, Promise<boolean>>();
function redisReachable(env: ToolkitEnv): Promise<boolean> {
  let answer = reachability.get(env);
  if (!answer) {
    answer = answersAt(env.localRedisUrl, 6379);
    reachability.set(env, answer);
  }
  return answer;
}

/**
 * Where the local Upstash lives: the configured server; with `localRedisFallback`, the private
 * redis-server once it holds databases (they stay where they were made), else the default
 * address when something answers there, else a private server started for this call. `start:
 * false` (get, delete) does not start one that was never made: `fn` then gets no session.
 */
async function withAdmin<T>(env: ToolkitEnv, start: boolean, fn: (session: Session | undefined) => Promise<T>): Promise<T> {
  const usePrivate =
    env.localRedisUrl === PRIVATE_REDIS ||
    (env.localRedisFallback === true && ((await readPrivateServer(env.dataDir)) !== undefined || !(await redisReachable(env))));
  if (!usePrivate) {
    const target = serverTarget(env.localRedisUrl);
    const client = await connect(target, maskSecrets(env.localRedisUrl));
    try {
      return await fn({ client, target });
    } finally {
      if (client.isOpen) client.destroy();
    }
  }
  return withPrivateRedis(env, start, async (target) => {
    if (!target) return fn(undefined);
    const client = await connect(target, `127.0.0.1:${target.port} (the private redis-server)`);
    try {
      return await fn({ client, target });
    } finally {
      if (client.isOpen) client.destroy();
    }
  });
}

/** The private server keeps its ACL users in its ACL file, so they survive its restarts. */
async function saveAcl(session: Session): Promise<void> {
  if (session.target.private) await session.client.sendCommand(["ACL", "SAVE"]);
}

/** Once the private server holds no database it is stopped and its data removed (under its lock). */
async function stopWhenEmpty(env: ToolkitEnv, session: Session): Promise<void> {
  if (!session.target.private) return;
  for await (const keys of session.client.scanIterator({ MATCH: metaKey("*"), COUNT: 1000 })) {
    if (keys.length > 0) return;
  }
  session.client.destroy();
  await removePrivateRedis(env.dataDir);
}

/** Local Upstash: one ACL user per database on the local Redis server (or the private one). */
export function localUpstashBackend(env: ToolkitEnv): UpstashBackend {
  /** Creates or refreshes the database's ACL user; returns its password. */
  async function applyUser(session: Session, id: string): Promise<string> {
    const password = await localPassword(env.dataDir, `redis:${userOf(id)}`);
    const prefix = prefixOf(id);
    await session.client.sendCommand(
      ["ACL", "SETUSER", userOf(id), "on", `>${password}`, "resetkeys", `~${prefix}*`, "resetchannels", `&${prefix}*`]
        .concat(["nocommands", "+@all", "-@admin", "-@dangerous", "-scan", "-randomkey"]),
    );
    await saveAcl(session);
    return password;
  }

  async function describe(session: Session | undefined, id: string): Promise<UpstashDatabase> {
    const meta = session && ID.test(id) ? await session.client.hGetAll(metaKey(id)) : {};
    if (!session || !meta.name) throw new LocalBackendError(`database_id: no local Redis database "${id}"`);
    const password = await applyUser(session, id);
    const username = userOf(id);
    const { host, port } = session.target;
    return {
      database_id: id,
      database_name: meta.name,
      endpoint: host,
      port,
      username,
      password,
      url: `redis://${username}:${encodeURIComponent(password)}@${host}:${port}`,
      key_prefix: prefixOf(id),
      primary_region: meta.primary_region ?? "local",
      platform: meta.platform ?? "local",
      state: "active",
    };
  }

  return {
    createDatabase: (input) =>
      withAdmin(env, true, async (session) => {
        const { client } = session!;
        // The metadata is written before the name is claimed, so a claimed name always has it.
        const id = randomBytes(6).toString("hex");
        const name = nameKey(await localAccount(env.dataDir), input.database_name);
        await client.hSet(metaKey(id), {
          name: input.database_name,
          primary_region: input.primary_region,
          platform: input.platform,
          created_at: new Date().toISOString(),
        });
        if ((await client.set(name, id, { condition: "NX" })) === null) {
          await client.del(metaKey(id));
          return { ...(await describe(session, (await client.get(name)) ?? "")), created: false };
        }
        try {
          return { ...(await describe(session, id)), created: true };
        } catch (error) {
          await client.del([metaKey(id), name]).catch(() => 0);
          await client.sendCommand(["ACL", "DELUSER", userOf(id)]).catch(() => 0);
          await stopWhenEmpty(env, session!).catch(() => {});
          throw error;
        }
      }),

    getDatabase: (input) => withAdmin(env, false, (session) => describe(session, input.database_id)),

    // The account's names point at its databases; nothing answering (no private server running) means none.
    listDatabases: () =>
      withAdmin(env, false, async (session) => {
        if (!session) return [];
        const { client } = session;
        const prefix = nameKey(await localAccount(env.dataDir), "");
        const out: { database_id: string; database_name: string; primary_region: string; state: string }[] = [];
        for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
          for (const key of keys) {
            const id = await client.get(key);
            const meta = id ? await client.hGetAll(metaKey(id)) : {};
            if (id && meta.name) out.push({ database_id: id, database_name: meta.name, primary_region: meta.primary_region ?? "local", state: "active" });
          }
        }
        return out.sort((a, b) => a.database_name.localeCompare(b.database_name));
      }),

    deleteDatabase: (input) =>
      withAdmin(env, false, async (session) => {
        if (!session || !ID.test(input.database_id)) return { deleted: false };
        const { client } = session;
        const id = input.database_id;
        const removedUsers = Number(await client.sendCommand(["ACL", "DELUSER", userOf(id)]));
        if (removedUsers > 0) await saveAcl(session);
        for await (const keys of client.scanIterator({ MATCH: `${prefixOf(id)}*`, COUNT: 500 })) {
          if (keys.length > 0) await client.unlink(keys);
        }
        const name = await client.hGet(metaKey(id), "name");
        const key = name === null || name === undefined ? undefined : nameKey(await localAccount(env.dataDir), name);
        if (key !== undefined && (await client.get(key)) === id) await client.del(key);
        const removedMeta = await client.del(metaKey(id));
        await stopWhenEmpty(env, session);
        return { deleted: removedUsers > 0 || removedMeta > 0 };
      }),
  };
}

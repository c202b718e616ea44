import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { scrubSecrets } from "../../http.ts";
import { LocalBackendError, localAccount, localPassword } from "../../local.ts";
import type { ToolkitEnv } from "../../tool.ts";
import type { UpstashBackend, UpstashDatabase } from "../upstash.ts";

/*
 * Upstash on the local Redis server. All state lives in Redis itself:
 * - a database is an ACL user `co_<id>` that may only touch keys and channels under `co:<id>:`,
 *   with every command except admin and dangerous ones and keyspace listing (SCAN, RANDOMKEY);
 * - `co:upstash:db:<id>` (a hash) holds its name, region and platform;
 * - `co:upstash:name:<name>` maps a name to its id; claiming it with SET NX makes create idempotent.
 * The ACL user is (re)applied on every create and get, so a Redis restart without an ACL file
 * loses nothing that a get does not restore.
 * Passwords are derived from the data dir's key, never stored.
 */

const ID = /^[a-f0-9]{12}$/;
const metaKey = (id: string): string => `co:upstash:db:${id}`;
const nameKey = (account: string, name: string): string => `co:upstash:name:${account}:${name}`;
const userOf = (id: string): string => `co_${id}`;
const prefixOf = (id: string): string => `co:${id}:`;

type Admin = ReturnType<typeof createClient>;

async function withAdmin<T>(env: ToolkitEnv, fn: (client: Admin) => Promise<T>): Promise<T> {
  const client = createClient({ url: env.localRedisUrl, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalBackendError(`local Redis at ${scrubSecrets(env.localRedisUrl)} is not reachable: ${reason}`);
  }
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** Local Upstash: one ACL user per database on the local Redis server. */
export function localUpstashBackend(env: ToolkitEnv): UpstashBackend {
  const server = new URL(env.localRedisUrl);
  const host = server.hostname;
  const port = Number(server.port || "6379");

  /** Creates or refreshes the database's ACL user; returns its password. */
  async function applyUser(client: Admin, id: string): Promise<string> {
    const password = await localPassword(env.dataDir, `redis:${userOf(id)}`);
    const prefix = prefixOf(id);
    await client.sendCommand(
      ["ACL", "SETUSER", userOf(id), "on", `>${password}`, "resetkeys", `~${prefix}*`, "resetchannels", `&${prefix}*`]
        .concat(["nocommands", "+@all", "-@admin", "-@dangerous", "-scan", "-randomkey"]),
    );
    return password;
  }

  async function describe(client: Admin, id: string): Promise<UpstashDatabase> {
    const meta = ID.test(id) ? await client.hGetAll(metaKey(id)) : {};
    if (!meta.name) throw new LocalBackendError(`database_id: no local Redis database "${id}"`);
    const password = await applyUser(client, id);
    const username = userOf(id);
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
      withAdmin(env, async (client) => {
        // The metadata is written before the name is claimed, so a claimed name always has it.
        const id = randomBytes(6).toString("hex");
        await client.hSet(metaKey(id), {
          name: input.database_name,
          primary_region: input.primary_region,
          platform: input.platform,
          created_at: new Date().toISOString(),
        });
        if ((await client.set(nameKey(await localAccount(env.dataDir), input.database_name), id, { condition: "NX" })) === null) {
          await client.del(metaKey(id));
          const existing = (await client.get(nameKey(await localAccount(env.dataDir), input.database_name))) ?? "";
          return { ...(await describe(client, existing)), created: false };
        }
        try {
          return { ...(await describe(client, id)), created: true };
        } catch (error) {
          await client.del([metaKey(id), nameKey(await localAccount(env.dataDir), input.database_name)]).catch(() => 0);
          await client.sendCommand(["ACL", "DELUSER", userOf(id)]).catch(() => 0);
          throw error;
        }
      }),

    getDatabase: (input) => withAdmin(env, (client) => describe(client, input.database_id)),

    deleteDatabase: (input) =>
      withAdmin(env, async (client) => {
        if (!ID.test(input.database_id)) return { deleted: false };
        const id = input.database_id;
        const removedUsers = Number(await client.sendCommand(["ACL", "DELUSER", userOf(id)]));
        for await (const keys of client.scanIterator({ MATCH: `${prefixOf(id)}*`, COUNT: 500 })) {
          if (keys.length > 0) await client.unlink(keys);
        }
        const name = await client.hGet(metaKey(id), "name");
        const key = name === null || name === undefined ? undefined : nameKey(await localAccount(env.dataDir), name);
        if (key !== undefined && (await client.get(key)) === id) await client.del(key);
        const removedMeta = await client.del(metaKey(id));
        return { deleted: removedUsers > 0 || removedMeta > 0 };
      }),
  };
}

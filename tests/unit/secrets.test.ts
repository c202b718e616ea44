import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maskSecrets, SecretStore } from "../../src/secrets.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { scratchDatabases } from "../helpers/postgres.ts";

const scratch = scratchDatabases("co_secrets_race");

const output = {
  project_id: "p-1",
  password: "correct-horse-battery",
  connection_string: "postgres://app:s3cr3t-pw@127.0.0.1:5432/app",
  nested: { url: "redis://user:r3dis-pw@127.0.0.1:6379", host: "127.0.0.1" },
  list: ["plain", "https://user:in-list-pw@example.test/x"],
};

describe("secret store", () => {
  it("replaces secret fields with handles and reveals them again", async () => {
    const store = new SecretStore(":memory:", Buffer.alloc(32, 1));
    const safe = await store.protect(output);
    expect(safe.project_id).toBe("p-1");
    expect(safe.nested.host).toBe("127.0.0.1");
    const text = JSON.stringify(safe);
    for (const secret of ["correct-horse-battery", "s3cr3t-pw", "r3dis-pw", "in-list-pw"]) expect(text).not.toContain(secret);
    expect(store.reveal(safe)).toEqual(output);
    expect(store.reveal(`DATABASE_URL=${safe.connection_string}`)).toBe(`DATABASE_URL=${output.connection_string}`);
    await store.close();
  });

  it("declared fields are secret whatever their name; the same value gets the same handle", async () => {
    const store = new SecretStore(":memory:", Buffer.alloc(32, 2));
    const a = await store.protect({ rest: "abc123" }, ["rest"]);
    const b = await store.protect({ other: "abc123" }, ["other"]);
    expect(a.rest).toMatch(/^secret:\/\/[0-9a-f]{32}$/);
    expect(b.other).toBe(a.rest);
    await store.close();
  });

  it("is encrypted at rest with a 0600 key file, and survives a reopen", async () => {
    const home = tempDir();
    const first = await SecretStore.open(home);
    const safe = await first.protect(output);
    await first.close();
    expect(statSync(path.join(home, "secret.key")).mode & 0o777).toBe(0o600);
    const raw = readFileSync(path.join(home, "secrets.sqlite"));
    expect(raw.includes(Buffer.from("correct-horse-battery"))).toBe(false);
    const second = await SecretStore.open(home);
    expect(second.reveal(safe.password)).toBe("correct-horse-battery");
    await second.close();
  });

  it("masks URL passwords and known values in text", () => {
    expect(maskSecrets("failed: postgres://app:s3cr3t@h/db and token abcd1234", ["abcd1234"])).toBe("failed: postgres://app:[redacted]@h/db and token [redacted]");
  });
});

describe("secret store beside a Postgres checkpointer", () => {
  const db = `co_secrets_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  const url = `postgres://postgres@127.0.0.1:5432/${db}`;
  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
  });
  afterAll(async () => {
    await scratch.dropAll();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  it("stores ciphertext in Postgres; another process with the key reveals it", async () => {
    const keyHex = "ab".repeat(32);
    const home = tempDir();
    const writer = await SecretStore.open(home, { keyHex, checkpointerUrl: url });
    const safe = await writer.protect(output);
    await writer.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ data: Buffer }>("SELECT data FROM credit_optimizer_secrets");
    await client.end();
    expect(rows.length).toBe(4);
    expect(rows.some((r) => r.data.includes(Buffer.from("correct-horse-battery")))).toBe(false);
    const reader = await SecretStore.open(tempDir(), { keyHex, checkpointerUrl: url });
    expect(reader.reveal(safe)).toEqual(output);
    await reader.close();
  });

  it("stores opening a new database together all open it (one creates the table, the others find it)", async () => {
    const keyHex = "cd".repeat(32);
    for (let round = 0; round < 5; round++) {
      const fresh = await scratch.create();
      const stores = await Promise.all(Array.from({ length: 6 }, () => SecretStore.open(tempDir(), { keyHex, checkpointerUrl: fresh })));
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

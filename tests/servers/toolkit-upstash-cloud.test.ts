import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startUpstashFake, type UpstashFake } from "../fixtures/fakes/upstash.ts";
import { connectToolkit, errorText, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

const EMAIL = "dev@example.com";
const API_KEY = "upstash-test-key-8d2e4b61";
const BASIC = Buffer.from(`${EMAIL}:${API_KEY}`).toString("base64");

describe("Upstash cloud backend against the API fake", () => {
  let fake: UpstashFake;
  let toolkit: ToolkitConnection;

  beforeEach(async () => {
    fake = await startUpstashFake({ email: EMAIL, apiKey: API_KEY });
    toolkit = await connectToolkit(
      localEnv({ upstash: { email: EMAIL, apiKey: API_KEY, baseUrl: fake.url, retry: { baseDelayMs: 5, maxDelayMs: 20 } } }),
    );
  });
  afterEach(async () => {
    await toolkit.close();
    await fake.close();
  });

  const posts = () => fake.requests.filter((r) => r.method === "POST");

  it("creates a database from the seed's older arguments (name, region) and returns a rediss:// URL", async () => {
    const created = output(
      await toolkit.call("toolkit_call", {
        category: "upstash",
        tool_name: "upstash_create_database",
        arguments: { name: "rad-crawler-cache", region: "us-east-1" },
      }),
    );
    const stored = [...fake.databases.values()][0];
    expect(stored).toBeDefined();
    expect(posts()[0]?.body).toEqual({
      database_name: "rad-crawler-cache",
      platform: "aws",
      primary_region: "us-east-1",
      tls: true,
    });
    expect(created).toEqual({
      database_id: stored?.database_id,
      database_name: "rad-crawler-cache",
      endpoint: stored?.endpoint,
      port: 6379,
      username: "default",
      password: stored?.password,
      url: `rediss://default:${stored?.password}@${stored?.endpoint}:6379`,
      rest_url: `https://${stored?.endpoint}`,
      rest_token: stored?.rest_token,
      primary_region: "us-east-1",
      platform: "aws",
      state: "active",
      created: true,
      rollback: { tool: "upstash_delete_database", arguments: { database_id: stored?.database_id } },
    });
    expect(fake.requests.every((r) => r.headers.authorization === `Basic ${BASIC}`)).toBe(true);
  });

  it("accepts the current arguments (database_name, primary_region, platform)", async () => {
    const name = uniqueName("cache");
    const created = output(await toolkit.call("upstash_create_database", { database_name: name, primary_region: "eu-west-1", platform: "aws", read_regions: ["us-east-1"] }));
    expect(created).toMatchObject({ database_name: name, primary_region: "eu-west-1", platform: "aws", created: true });
    expect(posts()[0]?.body).toMatchObject({ database_name: name, primary_region: "eu-west-1", platform: "aws", read_regions: ["us-east-1"] });
  });

  it("is idempotent by name: the second create returns the same database without a rollback", async () => {
    const name = uniqueName("same");
    const first = output(await toolkit.call("upstash_create_database", { name, region: "global" }));
    const second = output(await toolkit.call("upstash_create_database", { database_name: name }));
    expect(second).toMatchObject({ database_id: first.database_id, password: first.password, created: false });
    expect(second).not.toHaveProperty("rollback");
    expect(posts()).toHaveLength(1);
    expect(fake.databases.size).toBe(1);
  });

  it("retries 429 honouring retry-after", async () => {
    fake.inject({ method: "POST", path: /^\/redis\/database$/, times: 2, reply: { status: 429, headers: { "retry-after": "0" }, body: { error: "Too many requests" } } });
    const created = output(await toolkit.call("upstash_create_database", { name: uniqueName("limited") }));
    expect(created.created).toBe(true);
    expect(posts()).toHaveLength(3);
    expect(fake.databases.size).toBe(1);
  });

  it("gets and deletes a database; a second delete reports deleted: false", async () => {
    const created = output(await toolkit.call("upstash_create_database", { name: uniqueName("get") }));
    const got = output(await toolkit.call("upstash_get_database", { database_id: created.database_id }));
    expect(got.url).toBe(created.url);
    expect(got).not.toHaveProperty("rollback");
    expect(output(await toolkit.call("upstash_delete_database", { database_id: created.database_id }))).toEqual({ database_id: created.database_id, deleted: true });
    expect(output(await toolkit.call("upstash_delete_database", { database_id: created.database_id })).deleted).toBe(false);
    expect(fake.databases.size).toBe(0);
  });

  it("reports the provider's status and message without the API key or the basic credentials", async () => {
    fake.inject({
      method: "GET",
      path: /^\/redis\/databases$/,
      times: 1,
      reply: { status: 400, body: { error: `invalid key ${API_KEY} (Authorization: Basic ${BASIC})` } },
    });
    const text = errorText(await toolkit.call("upstash_create_database", { name: uniqueName("err") }));
    expect(text).toContain("upstash: HTTP 400: GET /redis/databases: invalid key [redacted]");
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(BASIC);

    const missing = errorText(await toolkit.call("upstash_get_database", { database_id: "6d0f4e1e-0000-4000-8000-000000000000" }));
    expect(missing).toContain("upstash: HTTP 404");
    expect(missing).toContain("database not found");
  });

  it("names the missing field when neither database_name nor name is given", async () => {
    expect(errorText(await toolkit.call("upstash_create_database", { region: "us-east-1" }))).toContain("database_name");
    expect(fake.requests).toHaveLength(0);
  });

  it("never sends the removed region field", async () => {
    output(await toolkit.call("upstash_create_database", { name: uniqueName("noregion"), region: "global" }));
    expect(posts()[0]?.body).not.toHaveProperty("region");
  });

  it("defaults a GCP region for platform gcp, and names a region of the other platform", async () => {
    const name = uniqueName("gcp");
    const created = output(await toolkit.call("upstash_create_database", { database_name: name, platform: "gcp" }));
    expect(created).toMatchObject({ platform: "gcp", primary_region: "us-central1", created: true });
    expect(posts()[0]?.body).toMatchObject({ platform: "gcp", primary_region: "us-central1" });
    const text = errorText(await toolkit.call("upstash_create_database", { database_name: uniqueName("mixed"), platform: "gcp", primary_region: "us-east-1" }));
    expect(text).toContain("us-east-1 is not a gcp region (e.g. us-central1)");
    expect(text).toContain("primary_region");
    expect(posts()).toHaveLength(1);
  });

  it("adopts a database created before its 500 instead of creating a second one", async () => {
    fake.inject({ method: "POST", path: /^\/redis\/database$/, times: 1, afterRoute: true, reply: { status: 500, body: { error: "internal" } } });
    const name = uniqueName("flaky");
    const created = output(await toolkit.call("upstash_create_database", { database_name: name }));
    const stored = [...fake.databases.values()];
    expect(stored).toHaveLength(1);
    expect(created).toMatchObject({ database_id: stored[0]?.database_id, password: stored[0]?.password, created: true });
    expect(created.rollback).toEqual({ tool: "upstash_delete_database", arguments: { database_id: stored[0]?.database_id } });
    expect(posts()).toHaveLength(1);
  });
});

describe("Upstash answers without credentials (the current spec lists none)", () => {
  it("says so instead of building a URL without a password", async () => {
    const fake = await startUpstashFake({ email: EMAIL, apiKey: API_KEY });
    const toolkit = await connectToolkit(localEnv({ upstash: { email: EMAIL, apiKey: API_KEY, baseUrl: fake.url } }));
    try {
      const created = output(await toolkit.call("upstash_create_database", { database_name: uniqueName("nopw") }));
      const stored = fake.databases.get(created.database_id as string);
      fake.inject({ method: "GET", path: /^\/redis\/database\//, times: 1, reply: { status: 200, body: { ...stored, password: undefined } } });
      const text = errorText(await toolkit.call("upstash_get_database", { database_id: created.database_id }));
      expect(text).toContain(`database ${String(created.database_id)}`);
      expect(text).toContain("came back without its password");
    } finally {
      await toolkit.close();
      await fake.close();
    }
  });
});

describe("Upstash endpoints given as slugs", () => {
  it("builds the rediss:// and REST URLs on a full host", async () => {
    const fake = await startUpstashFake({ email: EMAIL, apiKey: API_KEY, slugEndpoints: true });
    const toolkit = await connectToolkit(localEnv({ upstash: { email: EMAIL, apiKey: API_KEY, baseUrl: fake.url } }));
    try {
      const created = output(await toolkit.call("upstash_create_database", { database_name: uniqueName("slug") }));
      const stored = [...fake.databases.values()][0];
      expect(stored?.endpoint).not.toContain(".");
      expect(created.endpoint).toBe(`${stored?.endpoint}.upstash.io`);
      expect(created.url).toBe(`rediss://default:${stored?.password}@${stored?.endpoint}.upstash.io:6379`);
      expect(created.rest_url).toBe(`https://${stored?.endpoint}.upstash.io`);
      expect(new URL(created.url as string).hostname).toBe(`${stored?.endpoint}.upstash.io`);
    } finally {
      await toolkit.close();
      await fake.close();
    }
  });
});

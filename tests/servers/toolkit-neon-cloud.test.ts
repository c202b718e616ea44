import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startNeonFake, type NeonFake } from "../fixtures/fakes/neon.ts";
import { connectToolkit, errorText, keysOf, NEON_OUTPUT_KEYS, localEnv, output, uniqueName, type ToolkitConnection } from "./toolkit-core-client.ts";

const TOKEN = "neon-test-token-5f1c9a7e";

describe("Neon cloud backend against the API fake", () => {
  let fake: NeonFake;
  let toolkit: ToolkitConnection;

  beforeEach(async () => {
    fake = await startNeonFake({ token: TOKEN, pollsToFinish: 2 });
    toolkit = await connectToolkit(
      localEnv({
        neon: { apiKey: TOKEN, baseUrl: fake.url, retry: { baseDelayMs: 5, maxDelayMs: 20 }, pollIntervalMs: 5 },
      }),
    );
  });
  afterEach(async () => {
    await toolkit.close();
    await fake.close();
  });

  const count = (method: string, path: RegExp): number => fake.requests.filter((r) => r.method === method && path.test(r.path)).length;

  async function createProject(name = uniqueName("proj")): Promise<Record<string, unknown>> {
    return output(await toolkit.call("toolkit_call", { category: "neon", tool_name: "neon_create_project", arguments: { name } }));
  }

  it("creates a project, polls its operations to finished, and declares the delete as rollback", async () => {
    const project = await createProject("rad-crawler-db");
    expect(project).toMatchObject({ name: "rad-crawler-db", database_name: "neondb", role_name: "neondb_owner", created: true });
    expect(project.connection_string).toMatch(/^postgresql:\/\/neondb_owner:[0-9a-f]+@ep-[0-9a-f]+\.us-east-2\.aws\.neon\.tech\/neondb/);
    expect(project.host).toMatch(/\.neon\.tech$/);
    expect(project.rollback).toEqual({ tool: "neon_delete_project", arguments: { project_id: project.project_id } });
    const state = fake.projects.get(project.project_id as string);
    expect([...(state?.operations.values() ?? [])].map((op) => op.status)).toEqual(["finished", "finished"]);
    expect(count("GET", /\/operations\//)).toBe(4);
    expect(fake.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("creates a database on the default branch only after the project's operations finished (no 423)", async () => {
    const project = await createProject();
    const db = output(
      await toolkit.call("toolkit_call", {
        category: "neon",
        tool_name: "neon_create_database",
        arguments: { project_id: project.project_id, name: "crawler" },
      }),
    );
    expect(db).toMatchObject({ project_id: project.project_id, branch_id: project.branch_id, database_name: "crawler", owner_name: "neondb_owner", created: true });
    expect(db.connection_string).toMatch(/\/crawler\?sslmode=require$/);
    expect(keysOf(project)).toEqual(NEON_OUTPUT_KEYS.neon_create_project);
    expect(keysOf(db)).toEqual(NEON_OUTPUT_KEYS.neon_create_database);
    expect(db.rollback).toEqual({
      tool: "neon_delete_database",
      arguments: { project_id: project.project_id, branch_id: project.branch_id, database_name: "crawler" },
    });
    expect(count("POST", /\/databases$/)).toBe(1);
  });

  it("retries 423 Locked and then succeeds", async () => {
    const project = await createProject();
    fake.inject({ method: "POST", path: /\/databases$/, times: 2, reply: { status: 423, body: { message: "project already has running conflicting operations" } } });
    const db = output(await toolkit.call("neon_create_database", { project_id: project.project_id, database_name: "locked" }));
    expect(db.created).toBe(true);
    expect(count("POST", /\/databases$/)).toBe(3);
  });

  it("retries 429 honouring retry-after, and gives up with the status after the last attempt", async () => {
    fake.inject({ method: "GET", path: /^\/projects$/, times: 2, reply: { status: 429, headers: { "retry-after": "0" }, body: { message: "rate limit exceeded" } } });
    const project = await createProject();
    expect(project.created).toBe(true);
    expect(count("GET", /^\/projects$/)).toBe(3);

    fake.inject({ method: "GET", path: /^\/projects$/, times: 10, reply: { status: 429, body: { message: "rate limit exceeded" } } });
    const text = errorText(await toolkit.call("neon_create_project", { name: uniqueName("limited") }));
    expect(text).toContain("neon: HTTP 429: GET /projects: rate limit exceeded");
    expect(count("GET", /^\/projects$/)).toBe(3 + 5);
  });

  it("is idempotent by name: a second create returns the same project without a rollback", async () => {
    const name = uniqueName("same");
    const first = await createProject(name);
    const second = await createProject(name);
    expect(second).toMatchObject({ project_id: first.project_id, branch_id: first.branch_id, database_name: "neondb", created: false });
    expect(second.connection_string).toBe(first.connection_string);
    expect(second).not.toHaveProperty("rollback");
    expect(count("POST", /^\/projects$/)).toBe(1);
    expect(fake.projects.size).toBe(1);
  });

  it("creates, finds by name, and deletes branches; never deletes the default one", async () => {
    const project = await createProject();
    const main = output(await toolkit.call("neon_create_branch", { project_id: project.project_id, name: "main" }));
    expect(main).toMatchObject({ branch_id: project.branch_id, created: false });
    expect(main).not.toHaveProperty("rollback");

    const dev = output(await toolkit.call("neon_create_branch", { project_id: project.project_id, name: "dev" }));
    expect(dev).toMatchObject({ name: "dev", parent_id: project.branch_id, database_name: "neondb", created: true });
    expect(dev.rollback).toEqual({ tool: "neon_delete_branch", arguments: { project_id: project.project_id, branch_id: dev.branch_id } });

    const pooled = output(
      await toolkit.call("neon_get_connection_string", { project_id: project.project_id, branch_id: dev.branch_id, pooled: true }),
    );
    expect(pooled.connection_string).toMatch(/-pooler\./);
    expect(keysOf(dev)).toEqual(NEON_OUTPUT_KEYS.neon_create_branch);
    expect(keysOf(pooled)).toEqual(NEON_OUTPUT_KEYS.neon_get_connection_string);

    expect(output(await toolkit.call("neon_delete_branch", { project_id: project.project_id, branch_id: dev.branch_id })).deleted).toBe(true);
    expect(output(await toolkit.call("neon_delete_branch", { project_id: project.project_id, branch_id: dev.branch_id })).deleted).toBe(false);
    expect(errorText(await toolkit.call("neon_delete_branch", { project_id: project.project_id, branch_id: project.branch_id }))).toContain(
      "neon: HTTP 400: DELETE",
    );
  });

  it("deletes databases and projects, reporting deleted: false when already gone", async () => {
    const project = await createProject();
    const pid = project.project_id as string;
    output(await toolkit.call("neon_create_database", { project_id: pid, name: "tmp" }));
    expect(output(await toolkit.call("neon_delete_database", { project_id: pid, name: "tmp" }))).toMatchObject({ deleted: true, branch_id: project.branch_id });
    expect(output(await toolkit.call("neon_delete_database", { project_id: pid, name: "tmp" })).deleted).toBe(false);
    expect(output(await toolkit.call("neon_delete_project", { project_id: pid }))).toEqual({ project_id: pid, deleted: true });
    expect(output(await toolkit.call("neon_delete_project", { project_id: pid }))).toEqual({ project_id: pid, deleted: false });
  });

  it("reports the provider's status and message without the token", async () => {
    fake.inject({ method: "GET", path: /^\/projects$/, times: 1, reply: { status: 400, body: { message: `bad request for key ${TOKEN}` } } });
    const text = errorText(await toolkit.call("neon_create_project", { name: uniqueName("err") }));
    expect(text).toContain("neon: HTTP 400");
    expect(text).toContain("bad request for key [redacted]");
    expect(text).not.toContain(TOKEN);

    const missing = errorText(await toolkit.call("neon_create_database", { project_id: "no-such-project", name: "x" }));
    expect(missing).toContain("HTTP 404");
    expect(missing).toContain("project not found");
  });

  it("reports a failed operation", async () => {
    const project = await createProject();
    const state = fake.projects.get(project.project_id as string);
    fake.inject({
      method: "GET",
      path: /\/operations\//,
      times: 1,
      reply: { status: 200, body: { operation: { id: "op-x", action: "apply_config", status: "failed", error: "disk full" } } },
    });
    const text = errorText(await toolkit.call("neon_create_database", { project_id: project.project_id, name: "fails" }));
    expect(text).toContain("operation op-x (apply_config) ended failed: disk full");
    expect(state?.branches.get(project.branch_id as string)?.databases.has("fails")).toBe(true);
  });

  it("fails with the provider's 401 when the token is wrong", async () => {
    const other = await connectToolkit(localEnv({ neon: { apiKey: "wrong-token-123", baseUrl: fake.url } }));
    try {
      const text = errorText(await other.call("neon_create_project", { name: uniqueName("auth") }));
      expect(text).toContain("neon: HTTP 401: GET /projects: authorization failed");
      expect(text).not.toContain("wrong-token-123");
    } finally {
      await other.close();
    }
  });

  it("treats an operation in status error as terminal instead of polling to the timeout", async () => {
    const project = await createProject();
    fake.inject({
      method: "GET",
      path: /\/operations\//,
      times: 1,
      reply: { status: 200, body: { operation: { id: "op-e", action: "apply_config", status: "error", error: "compute failed to start" } } },
    });
    const text = errorText(await toolkit.call("neon_create_database", { project_id: project.project_id, name: "errs" }));
    expect(text).toContain("operation op-e (apply_config) ended error: compute failed to start");
    // Polling on would ask for op-e, which the fake does not know (404), instead of stopping here.
    expect(fake.requests.some((r) => r.path.endsWith("/operations/op-e"))).toBe(false);
  });

  it("adopts a project that was created although the response failed (5xx), instead of creating a second", async () => {
    fake.inject({ method: "POST", path: /^\/projects$/, times: 1, afterRoute: true, reply: { status: 500, body: { message: "internal error" } } });
    const project = await createProject("flaky-proj");
    expect(project).toMatchObject({ name: "flaky-proj", created: true, database_name: "neondb" });
    expect(project.rollback).toEqual({ tool: "neon_delete_project", arguments: { project_id: project.project_id } });
    expect(fake.projects.size).toBe(1);
    expect(count("POST", /^\/projects$/)).toBe(1);
  });

  it("adopts a project whose create response was cut off (dropped connection)", async () => {
    fake.inject({ method: "POST", path: /^\/projects$/, times: 1, afterRoute: true, drop: true });
    const project = await createProject("dropped-proj");
    expect(project).toMatchObject({ name: "dropped-proj", created: true });
    expect(fake.projects.size).toBe(1);
    expect(count("POST", /^\/projects$/)).toBe(1);
  });

  it("creates again when a 5xx create left nothing behind", async () => {
    fake.inject({ method: "POST", path: /^\/projects$/, times: 1, reply: { status: 503, body: { message: "unavailable" } } });
    const project = await createProject("retried-proj");
    expect(project).toMatchObject({ name: "retried-proj", created: true });
    expect(fake.projects.size).toBe(1);
    expect(count("POST", /^\/projects$/)).toBe(2);
  });

  it("adopts a database created before its 503, instead of failing on the 409 of a blind retry", async () => {
    const project = await createProject();
    fake.inject({ method: "POST", path: /\/databases$/, times: 1, afterRoute: true, reply: { status: 503, body: { message: "unavailable" } } });
    const db = output(await toolkit.call("neon_create_database", { project_id: project.project_id, name: "adopted" }));
    expect(db).toMatchObject({ database_name: "adopted", created: true });
    expect(db.rollback).toMatchObject({ tool: "neon_delete_database" });
    expect(count("POST", /\/databases$/)).toBe(1);
  });

  it("adopts a named branch created before its 502", async () => {
    const project = await createProject();
    fake.inject({ method: "POST", path: /\/branches$/, times: 1, afterRoute: true, reply: { status: 502, body: { message: "bad gateway" } } });
    const branch = output(await toolkit.call("neon_create_branch", { project_id: project.project_id, name: "staging" }));
    expect(branch).toMatchObject({ name: "staging", created: true });
    expect([...(fake.projects.get(project.project_id as string)?.branches.values() ?? [])].filter((b) => b.name === "staging")).toHaveLength(1);
  });
});

describe("Neon cloud backend for an organization account", () => {
  const ORG = { id: "org-cool-breeze-12345678", name: "Acme" };
  let fake: NeonFake;
  const opened: ToolkitConnection[] = [];

  afterEach(async () => {
    for (const t of opened.splice(0)) await t.close();
    await fake.close();
  });

  async function connect(orgs: { id: string; name: string; managed_by?: string }[], orgId?: string): Promise<ToolkitConnection> {
    fake = await startNeonFake({ token: TOKEN, pollsToFinish: 1, orgs, requireOrg: true });
    const t = await connectToolkit(localEnv({ neon: { apiKey: TOKEN, baseUrl: fake.url, orgId, retry: { baseDelayMs: 5, maxDelayMs: 20 }, pollIntervalMs: 5 } }));
    opened.push(t);
    return t;
  }

  it("answers 400 org_id is required like Neon, and the client resolves the account's only organization", async () => {
    const toolkit = await connect([ORG, { id: "org-vercel-1", name: "From Vercel", managed_by: "vercel" }]);
    const project = output(await toolkit.call("neon_create_project", { name: "org-proj" }));
    expect(project).toMatchObject({ name: "org-proj", created: true });
    const post = fake.requests.find((r) => r.method === "POST" && r.path === "/projects");
    expect(post?.body).toMatchObject({ project: { name: "org-proj", org_id: ORG.id } });
    expect([...fake.projects.values()][0]?.org_id).toBe(ORG.id);
    const asked = fake.requests.filter((r) => r.path === "/users/me/organizations").length;
    const again = output(await toolkit.call("neon_create_project", { name: "org-proj" }));
    expect(again).toMatchObject({ project_id: project.project_id, created: false });
    // The organization is remembered: the second call neither asks again nor meets the 400.
    expect(fake.requests.filter((r) => r.path === "/users/me/organizations")).toHaveLength(asked);
    expect(fake.requests.filter((r) => r.path === "/projects" && r.method === "GET" && r.query.get("org_id") === null)).toHaveLength(1);
  });

  it("uses NEON_ORG_ID when configured, without asking for the organizations", async () => {
    const toolkit = await connect([ORG, { id: "org-other-2", name: "Other" }], ORG.id);
    const project = output(await toolkit.call("neon_create_project", { name: "configured" }));
    expect(project.created).toBe(true);
    expect(fake.requests.some((r) => r.path === "/users/me/organizations")).toBe(false);
    expect(fake.requests.filter((r) => r.method === "GET" && r.path === "/projects").every((r) => r.query.get("org_id") === ORG.id)).toBe(true);
  });

  it("names NEON_ORG_ID and the choices when the account has several organizations", async () => {
    const toolkit = await connect([ORG, { id: "org-other-2", name: "Other" }]);
    const text = errorText(await toolkit.call("neon_create_project", { name: "ambiguous" }));
    expect(text).toContain("set NEON_ORG_ID to one of: Acme (org-cool-breeze-12345678), Other (org-other-2)");
    expect(text).not.toContain(TOKEN);
    expect(fake.projects.size).toBe(0);
  });
});

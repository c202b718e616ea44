import { afterEach, describe, expect, it } from "vitest";
import { isProviderError } from "../../src/servers/toolkit/http.ts";
import { flyTools, isFlyError } from "../../src/servers/toolkit/providers/fly.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { startFlyFake, type FlyFake, type FlyFakeOptions } from "../fixtures/fakes/fly.ts";
import { checkedTool } from "./toolkit-core-client.ts";

const TOKEN = "fly-test-token-abcdef123456";

function tool(name: string): ToolkitTool {
  return checkedTool(flyTools, name);
}

let fake: FlyFake | undefined;

async function setup(options: Partial<FlyFakeOptions> = {}): Promise<{ fake: FlyFake; env: ToolkitEnv }> {
  fake = await startFlyFake({ token: TOKEN, ...options });
  const env: ToolkitEnv = {
    dataDir: "/nonexistent/toolkit-fly-test",
    localPostgresUrl: "postgres://127.0.0.1:1/none",
    localRedisUrl: "redis://127.0.0.1:1",
    fly: { token: TOKEN, baseUrl: fake.url, orgSlug: "personal", retry: { baseDelayMs: 5, maxDelayMs: 20 } },
  };
  return { fake, env };
}

const calls = (f: FlyFake): string[] => f.requests.map((r) => `${r.method} ${r.path}`);

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("fly cloud backend", () => {
  it("creates an app in the configured org and declares its rollback", async () => {
    const { fake, env } = await setup();
    const output = await tool("fly_create_app").run({ app_name: "rad-crawler" }, env);
    expect(output).toEqual({ app_name: "rad-crawler", project_id: "rad-crawler", created: true });
    expect(fake.requests[0]?.body).toEqual({ app_name: "rad-crawler", org_slug: "personal" });
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(tool("fly_create_app").rollback?.({ app_name: "rad-crawler" }, output)).toEqual({
      tool: "fly_delete_app",
      arguments: { app_name: "rad-crawler" },
    });
    await tool("fly_create_app").run({ app_name: "other", org_slug: "acme" }, env);
    expect(fake.apps.get("other")?.org).toBe("acme");
  });

  it("treats a 422 for an app it can read as existing, with nothing to roll back", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "mine" }, env);
    const again = await tool("fly_create_app").run({ app_name: "mine" }, env);
    expect(again).toEqual({ app_name: "mine", project_id: "mine", created: false });
    expect(calls(fake)).toEqual(["POST /apps", "POST /apps", "GET /apps/mine"]);
    expect(tool("fly_create_app").rollback?.({ app_name: "mine" }, again)).toBeUndefined();
  });

  it("fails with the 422 when the name belongs to someone else", async () => {
    const { env } = await setup({ foreignApps: ["taken"] });
    const failure = await tool("fly_create_app").run({ app_name: "taken" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(422);
    expect((failure as Error).message).toMatch(/Name has already been taken/);
  });

  it("sets secrets and returns their keys and version, never the values", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "app" }, env);
    const output = await tool("fly_set_secrets").run({ app_name: "app", secrets: { DATABASE_URL: "postgres://u:pw@h/db" } }, env);
    expect(output).toEqual({ app_name: "app", keys: ["DATABASE_URL"], version: 1 });
    expect(JSON.stringify(output)).not.toContain("pw@h");
    expect(fake.apps.get("app")?.secrets.get("DATABASE_URL")).toBe("postgres://u:pw@h/db");
  });

  it("removes secret and env values from provider errors", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "app" }, env);
    fake.inject({ method: "POST", path: /\/secrets$/, times: 1, reply: { status: 400, body: { error: "cannot parse value sup3r-s3cret-v" } } });
    const secrets = await tool("fly_set_secrets").run({ app_name: "app", secrets: { TOKEN: "sup3r-s3cret-v" } }, env).catch((e: unknown) => e);
    expect((secrets as Error).message).toMatch(/cannot parse value/);
    expect((secrets as Error).message).not.toContain("sup3r-s3cret-v");
    fake.inject({ method: "POST", path: /\/machines$/, times: 1, reply: { status: 400, body: { error: "bad env value env-s3cret-v" } } });
    const machine = await tool("fly_deploy").run({ app_name: "app", image: "nginx", env: { KEY: "env-s3cret-v" } }, env).catch((e: unknown) => e);
    expect(isProviderError(machine) && machine.status).toBe(400);
    expect((machine as Error).message).not.toContain("env-s3cret-v");
  });

  it("deploys: secrets, then a machine with image/env/services, then waits for started", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "web" }, env);
    const output = await tool("fly_deploy").run(
      { app_name: "web", image: "registry.fly.io/web:1", env: { NODE_ENV: "production" }, secrets: { REDIS_URL: "redis://r" }, region: "ams" },
      env,
    );
    const machine = [...(fake.apps.get("web")?.machines.values() ?? [])][0];
    expect(output).toEqual({ app_name: "web", machine_id: machine?.id, url: "https://web.fly.dev", state: "started", source: "image" });
    expect(calls(fake)).toEqual(["POST /apps", "POST /apps/web/secrets", "POST /apps/web/machines", `GET /apps/web/machines/${machine?.id}/wait`]);
    expect(fake.requests.at(-1)?.query.get("state")).toBe("started");
    expect(machine?.region).toBe("ams");
    expect(machine?.config).toMatchObject({
      image: "registry.fly.io/web:1",
      env: { NODE_ENV: "production", PORT: "8080" },
      services: [{ protocol: "tcp", internal_port: 8080 }],
    });
    expect(fake.apps.get("web")?.secrets.get("REDIS_URL")).toBe("redis://r");
  });

  it("requires an image on Fly.io, naming the field", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "noimg" }, env);
    const failure = await tool("fly_deploy").run({ app_name: "noimg" }, env).catch((error: unknown) => error);
    expect(isFlyError(failure) && failure.code).toBe("IMAGE_REQUIRED");
    expect((failure as Error).message).toMatch(/image: required/);
    expect(fake.apps.get("noimg")?.machines.size).toBe(0);
    const withSecrets = await tool("fly_deploy").run({ app_name: "noimg", secrets: { A: "b" } }, env).catch((error: unknown) => error);
    expect(isFlyError(withSecrets) && withSecrets.code).toBe("IMAGE_REQUIRED");
    expect(fake.apps.get("noimg")?.secrets.size).toBe(0);
  });

  it("fails when the machine never reaches started", async () => {
    const { env } = await setup({ machinesNeverStart: true });
    await tool("fly_create_app").run({ app_name: "stuck" }, env);
    const failure = await tool("fly_deploy").run({ app_name: "stuck", image: "nginx" }, env).catch((error: unknown) => error);
    expect(isFlyError(failure) && failure.code).toBe("MACHINE_NOT_STARTED");
  });

  it("does not repeat a machine create that failed with a 5xx (not safe to retry)", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "once" }, env);
    fake.inject({ method: "POST", path: /\/machines$/, times: 1, reply: { status: 503, body: { error: `upstream down for token ${TOKEN}` } } });
    const failure = await tool("fly_deploy").run({ app_name: "once", image: "nginx" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(503);
    expect((failure as Error).message).not.toContain(TOKEN);
    expect(fake.requests.filter((r) => r.path.endsWith("/machines"))).toHaveLength(1);
  });

  it("retries a 429 on a safe call", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "busy" }, env);
    fake.inject({ method: "DELETE", path: /^\/apps\/busy$/, times: 2, reply: { status: 429, headers: { "retry-after": "0" }, body: { error: "rate limited" } } });
    expect(await tool("fly_delete_app").run({ app_name: "busy" }, env)).toEqual({ app_name: "busy", deleted: true, existed: true });
    expect(fake.requests.filter((r) => r.method === "DELETE")).toHaveLength(3);
  });

  it("deletes an app (202), and reports a missing one as not existing", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "bye" }, env);
    expect(tool("fly_delete_app").destructive).toBe(true);
    expect(await tool("fly_delete_app").run({ app_name: "bye" }, env)).toEqual({ app_name: "bye", deleted: true, existed: true });
    expect(fake.apps.has("bye")).toBe(false);
    expect(await tool("fly_delete_app").run({ app_name: "bye" }, env)).toEqual({ app_name: "bye", deleted: true, existed: false });
  });

  it("validates input, naming the field", async () => {
    const { env } = await setup();
    await expect(tool("fly_create_app").run({ app_name: "Has Spaces" }, env)).rejects.toThrow(/^fly_create_app: invalid input: app_name: /);
    await expect(tool("fly_deploy").run({ app_name: "ok", internal_port: 70_000 }, env)).rejects.toThrow(/internal_port: /);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { isProviderError } from "../../src/servers/toolkit/http.ts";
import { flyTools, flyWaitTimeouts, isFlyError } from "../../src/servers/toolkit/providers/fly.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { startFlyFake, type FlyFake, type FlyFakeOptions } from "../fixtures/fakes/fly.ts";
import { checkedTool } from "./toolkit-core-client.ts";

const TOKEN = "fly-test-token-abcdef123456";

function tool(name: string): ToolkitTool {
  return checkedTool(flyTools, name);
}

let fake: FlyFake | undefined;

async function setup(options: Partial<FlyFakeOptions> = {}, fly: Partial<NonNullable<ToolkitEnv["fly"]>> = {}): Promise<{ fake: FlyFake; env: ToolkitEnv }> {
  fake = await startFlyFake({ token: TOKEN, ...options });
  const env: ToolkitEnv = {
    dataDir: "/nonexistent/toolkit-fly-test",
    localPostgresUrl: "postgres://127.0.0.1:1/none",
    localRedisUrl: "redis://127.0.0.1:1",
    fly: { token: options.token ?? TOKEN, baseUrl: fake.url, orgSlug: "personal", retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...fly },
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
    expect(fake.requests[0]?.body).toEqual({ app_name: "rad-crawler", name: "rad-crawler", org_slug: "personal" });
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
    expect(output).toEqual({
      app_name: "web",
      machine_id: machine?.id,
      machine_ids: [machine?.id],
      updated: false,
      url: "https://web.fly.dev",
      state: "started",
      source: "image",
    });
    expect(calls(fake)).toEqual([
      "POST /apps",
      "POST /apps/web/secrets",
      "GET /apps/web/ip_assignments",
      "POST /apps/web/ip_assignments",
      "POST /apps/web/ip_assignments",
      "GET /apps/web/machines",
      "POST /apps/web/machines",
      `GET /apps/web/machines/${machine?.id}/wait`,
    ]);
    expect(fake.requests.at(-1)?.query.get("state")).toBe("started");
    expect(fake.requests.at(-1)?.query.get("version")).toBe(machine?.instance_id);
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

  it("does not repeat a machine create blind: after a 5xx it looks the machine up, and stops after the attempts", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "once" }, env);
    fake.inject({ method: "POST", path: /\/machines$/, times: 3, reply: { status: 503, body: { error: `upstream down for token ${TOKEN}` } } });
    const failure = await tool("fly_deploy").run({ app_name: "once", image: "nginx" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(503);
    expect((failure as Error).message).not.toContain(TOKEN);
    expect(fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/machines"))).toHaveLength(3);
    expect((failure as Error).message).toContain("is not there after 3 attempts; nothing was created");
    expect(fake.apps.get("once")?.machines.size).toBe(0);
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
    expect(fake.requests.at(-1)?.query.get("force")).toBe("true");
    expect(await tool("fly_delete_app").run({ app_name: "bye" }, env)).toEqual({ app_name: "bye", deleted: true, existed: false });
  });

  it("validates input, naming the field", async () => {
    const { env } = await setup();
    await expect(tool("fly_create_app").run({ app_name: "Has Spaces" }, env)).rejects.toThrow(/^fly_create_app: invalid input: app_name: /);
    await expect(tool("fly_deploy").run({ app_name: "ok", internal_port: 70_000 }, env)).rejects.toThrow(/internal_port: /);
  });

  it("allocates a public IP for an app without one, and none when it has one", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "public" }, env);
    await tool("fly_deploy").run({ app_name: "public", image: "nginx" }, env);
    const ips = fake.apps.get("public")?.ips ?? [];
    expect(ips.map((ip) => ip.type).sort()).toEqual(["shared_v4", "v6"]);
    await tool("fly_deploy").run({ app_name: "public", image: "nginx:2" }, env);
    expect(fake.apps.get("public")?.ips).toHaveLength(2);
  });

  it("starts the machine with the secrets version it just set, so the new secrets reach it", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "sec" }, env);
    await tool("fly_set_secrets").run({ app_name: "sec", secrets: { A: "1" } }, env);
    await tool("fly_deploy").run({ app_name: "sec", image: "nginx", secrets: { B: "2" } }, env);
    const machine = [...(fake.apps.get("sec")?.machines.values() ?? [])][0];
    expect(fake.apps.get("sec")?.secretsVersion).toBe(2);
    expect(machine?.secretsVersion).toBe(2);
  });

  it("takes the version from fly_set_secrets when the deploy sets none itself", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "sec2" }, env);
    const set = await tool("fly_set_secrets").run({ app_name: "sec2", secrets: { A: "1" } }, env);
    await tool("fly_deploy").run({ app_name: "sec2", image: "nginx", secrets_version: set.version }, env);
    expect([...(fake.apps.get("sec2")?.machines.values() ?? [])][0]?.secretsVersion).toBe(1);
  });

  it("updates the app's machine on a redeploy instead of adding one beside it", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "redeploy" }, env);
    const first = await tool("fly_deploy").run({ app_name: "redeploy", image: "app:1" }, env);
    const second = await tool("fly_deploy").run({ app_name: "redeploy", image: "app:2", secrets: { K: "v" } }, env);
    const machines = [...(fake.apps.get("redeploy")?.machines.values() ?? [])];
    expect(machines).toHaveLength(1);
    expect(second).toMatchObject({ machine_id: first.machine_id, updated: true });
    expect(machines[0]).toMatchObject({ updates: 1, secretsVersion: 1, config: { image: "app:2" } });
  });

  it("adopts a machine created before its 502 (looked up by the name it was given)", async () => {
    const { fake, env } = await setup();
    await tool("fly_create_app").run({ app_name: "adopt" }, env);
    fake.inject({ method: "POST", path: /\/machines$/, times: 1, afterRoute: true, reply: { status: 502, body: { error: "bad gateway" } } });
    const output = await tool("fly_deploy").run({ app_name: "adopt", image: "nginx" }, env);
    const machines = [...(fake.apps.get("adopt")?.machines.values() ?? [])];
    expect(machines).toHaveLength(1);
    expect(output.machine_id).toBe(machines[0]?.id);
    expect(fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/machines"))).toHaveLength(1);
  });

  it("adopts an app created before its 500 as created by this call (so rollback deletes it)", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /^\/apps$/, times: 1, afterRoute: true, reply: { status: 500, body: { error: "internal" } } });
    const output = await tool("fly_create_app").run({ app_name: "leaky" }, env);
    expect(output).toEqual({ app_name: "leaky", project_id: "leaky", created: true });
    expect(tool("fly_create_app").rollback?.({ app_name: "leaky" }, output)).toEqual({ tool: "fly_delete_app", arguments: { app_name: "leaky" } });
    expect(fake.requests.filter((r) => r.method === "POST" && r.path === "/apps")).toHaveLength(1);
  });

  it("sees Fly's 408 although the wait outlasts the client's usual timeout", async () => {
    // The client's timeout here (100 ms) is shorter than the wait (300 ms), as 30 s was against 60 s.
    const { fake, env } = await setup({ machinesNeverStart: true }, { timeoutMs: 100 });
    await tool("fly_create_app").run({ app_name: "slow" }, env);
    fake.inject({ method: "GET", path: /\/wait$/, times: 1, afterRoute: true, delayMs: 300 });
    const failure = await tool("fly_deploy").run({ app_name: "slow", image: "nginx" }, env).catch((error: unknown) => error);
    expect(isFlyError(failure) && failure.code).toBe("MACHINE_NOT_STARTED");
    expect(fake.requests.filter((r) => r.path.endsWith("/wait"))).toHaveLength(1);
    expect(fake.requests.find((r) => r.path.endsWith("/wait"))?.query.get("timeout")).toBe("60");
  });

  it("gives every wait an HTTP timeout longer than the wait itself, whatever the client's usual timeout", () => {
    expect(flyWaitTimeouts({})).toEqual({ seconds: 60, httpTimeoutMs: 75_000 });
    expect(flyWaitTimeouts({ waitSeconds: 600 }).seconds).toBe(60);
    for (const waitSeconds of [1, 10, 60]) {
      const { seconds, httpTimeoutMs } = flyWaitTimeouts({ waitSeconds });
      expect(httpTimeoutMs).toBeGreaterThan(seconds * 1000);
    }
  });

  it("authenticates macaroon tokens with the FlyV1 scheme", async () => {
    const macaroon = "fm2_lJPECAAAAAAAAtest,fm2_lJPEtest2";
    const { fake, env } = await setup({ token: macaroon, scheme: "FlyV1" });
    expect(await tool("fly_create_app").run({ app_name: "macaroon" }, env)).toMatchObject({ created: true });
    expect(fake.requests[0]?.headers.authorization).toBe(`FlyV1 ${macaroon}`);
  });
});

import { readFile } from "node:fs/promises";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { flyTools } from "../../src/servers/toolkit/providers/fly.ts";
import { githubTools } from "../../src/servers/toolkit/providers/github.ts";
import { neonTools } from "../../src/servers/toolkit/providers/neon.ts";
import { upstashTools } from "../../src/servers/toolkit/providers/upstash.ts";
import { vercelTools } from "../../src/servers/toolkit/providers/vercel.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { startFlyFake } from "../fixtures/fakes/fly.ts";
import { startGitHubFake } from "../fixtures/fakes/github.ts";
import type { FakeHttp, RecordedRequest } from "../fixtures/fakes/http-fake.ts";
import { startNeonFake } from "../fixtures/fakes/neon.ts";
import { startUpstashFake } from "../fixtures/fakes/upstash.ts";
import { startVercelFake } from "../fixtures/fakes/vercel.ts";
import { checkRequest, checkResponse, extractOperations, findOperation, operationsExercised, type Contract } from "../helpers/contract.ts";

/*
 * Every request the five cloud clients make, and every answer the fakes give them, checked
 * against the providers' published descriptions: each provider's tools run through their
 * normal paths and their recovery paths (adoption after a failed create, org resolution,
 * redeploys), and each recorded exchange must fit an operation of the contract.
 */

const fixture = async (name: string): Promise<Contract> =>
  JSON.parse(await readFile(path.join(import.meta.dirname, "..", "fixtures", "contracts", `${name}.json`), "utf8")) as Contract;

const base = (): ToolkitEnv => ({ dataDir: "/nonexistent/toolkit-contracts", localPostgresUrl: "postgres://127.0.0.1:1/none", localRedisUrl: "redis://127.0.0.1:1" });
const retry = { baseDelayMs: 2, maxDelayMs: 5 };

function runner(tools: readonly ToolkitTool[], env: ToolkitEnv) {
  return async (name: string, input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const tool = tools.find((t) => t.name === name);
    if (!tool) throw new Error(`no tool ${name}`);
    return tool.run(tool.input.parse(input), env);
  };
}

/** Checks every exchange; returns the operations exercised. */
function check(contract: Contract, requests: readonly RecordedRequest[]): string[] {
  const problems = requests.flatMap((req) => [...checkRequest(contract, req), ...checkResponse(contract, req)]);
  expect(problems).toEqual([]);
  return operationsExercised(contract, requests);
}

const counts: Record<string, { exercised: number; inContract: number; requests: number }> = {};
afterAll(() => {
  // The numbers the issue asks for: calls checked per client (printed with the test run).
  console.info(`contract checks: ${JSON.stringify(counts)}`);
});

describe("contract fixtures", () => {
  it("name the spec and version each is taken from, and hold every operation once", async () => {
    for (const name of ["neon", "upstash", "vercel", "fly"]) {
      const contract = await fixture(name);
      expect(contract.provider).toBe(name);
      expect(contract.source.spec.length).toBeGreaterThan(3);
      expect(contract.source.version.length).toBeGreaterThan(0);
      expect(contract.source.from).toMatch(/@ [0-9a-f]{7,}/);
      const keys = contract.operations.map((op) => `${op.method} ${op.path}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it("catch what the clients must not send", async () => {
    const neon = await fixture("neon");
    const req = (method: string, p: string, body?: unknown, query = ""): RecordedRequest => ({ method, path: p, query: new URLSearchParams(query), headers: {}, body });
    expect(checkRequest(neon, req("POST", "/projects", { project: { name: "x", colour: "red" } }))).toEqual([
      "POST /projects: body.project.colour is not in the description",
    ]);
    expect(checkRequest(neon, req("GET", "/projects/p-1/connection_uri", undefined, "branch_id=b"))).toEqual([
      "GET /projects/p-1/connection_uri: query database_name is required",
      "GET /projects/p-1/connection_uri: query role_name is required",
    ]);
    expect(checkRequest(neon, req("GET", "/projects", undefined, "limit=many"))).toEqual(['GET /projects: query limit: expected an integer, got "many"']);
    expect(checkRequest(neon, req("PUT", "/projects"))).toEqual([`PUT /projects: no such operation in ${neon.source.spec}`]);
    const upstash = await fixture("upstash");
    expect(checkRequest(upstash, req("POST", "/redis/database", { database_name: "d", platform: "aws", primary_region: "us-east-1", region: "global" }))).toEqual([
      "POST /redis/database: body.region is not in the description",
    ]);
  });
});

describe("Neon client against the Neon API v2 description", () => {
  it("sends and reads only what the description has, on every call it makes", async () => {
    const contract = await fixture("neon");
    const token = "neon-contract-token-1";
    const requests: RecordedRequest[] = [];
    const run = async (orgs: boolean, scenario: (call: ReturnType<typeof runner>, fake: FakeHttp) => Promise<void>): Promise<void> => {
      const fake = await startNeonFake({ token, pollsToFinish: 1, ...(orgs ? { orgs: [{ id: "org-a-1", name: "A" }], requireOrg: true } : {}) });
      try {
        await scenario(runner(neonTools, { ...base(), neon: { apiKey: token, baseUrl: fake.url, retry, pollIntervalMs: 1 } }), fake);
      } finally {
        requests.push(...fake.requests);
        await fake.close();
      }
    };
    await run(false, async (call, fake) => {
      const project = await call("neon_create_project", { name: "contract-proj", region_id: "aws-us-east-2", pg_version: 17 });
      await call("neon_create_project", { name: "contract-proj" });
      const pid = project.project_id as string;
      await call("neon_create_database", { project_id: pid, name: "db1" });
      fake.inject({ method: "POST", path: /\/databases$/, times: 1, afterRoute: true, reply: { status: 503, body: { message: "x" } } });
      await call("neon_create_database", { project_id: pid, name: "db2", owner_name: "neondb_owner" });
      const branch = await call("neon_create_branch", { project_id: pid, name: "dev" });
      await call("neon_create_branch", { project_id: pid });
      await call("neon_get_connection_string", { project_id: pid, branch_id: branch.branch_id, pooled: true });
      await call("neon_delete_database", { project_id: pid, name: "db1" });
      // A branch without databases: the owner of a new one is then read from the roles.
      for (const name of ["neondb", "db1", "db2"]) await call("neon_delete_database", { project_id: pid, branch_id: branch.branch_id, name });
      await call("neon_create_database", { project_id: pid, branch_id: branch.branch_id, name: "fresh" });
      await call("neon_delete_branch", { project_id: pid, branch_id: branch.branch_id });
      expect((await call("neon_list_projects", {})).projects).toEqual([{ project_id: pid, name: "contract-proj" }]);
      await call("neon_delete_project", { project_id: pid });
    });
    await run(true, async (call) => {
      await call("neon_create_project", { name: "org-proj" });
      expect(((await call("neon_list_projects", {})).projects as { name: string }[]).map((p) => p.name)).toEqual(["org-proj"]);
    });
    const exercised = check(contract, requests);
    counts.neon = { exercised: exercised.length, inContract: contract.operations.length, requests: requests.length };
    expect(exercised).toHaveLength(contract.operations.length);
  });
});

describe("Upstash client against the Upstash Developer API description", () => {
  it("sends and reads only what the description has, on every call it makes", async () => {
    const contract = await fixture("upstash");
    const fake = await startUpstashFake({ email: "c@x.io", apiKey: "upstash-contract-key", slugEndpoints: true });
    try {
      const call = runner(upstashTools, { ...base(), upstash: { email: "c@x.io", apiKey: "upstash-contract-key", baseUrl: fake.url, retry } });
      const db = await call("upstash_create_database", { name: "c1", region: "global" });
      await call("upstash_create_database", { database_name: "c2", platform: "gcp", read_regions: [] });
      fake.inject({ method: "POST", path: /^\/redis\/database$/, times: 1, afterRoute: true, reply: { status: 502, body: { error: "x" } } });
      await call("upstash_create_database", { database_name: "c3", primary_region: "eu-west-1", read_regions: ["us-east-1"] });
      await call("upstash_get_database", { database_id: db.database_id });
      expect(((await call("upstash_list_databases", {})).databases as { database_name: string }[]).map((d) => d.database_name).sort()).toEqual(["c1", "c2", "c3"]);
      await call("upstash_delete_database", { database_id: db.database_id });
      const exercised = check(contract, fake.requests);
      counts.upstash = { exercised: exercised.length, inContract: contract.operations.length, requests: fake.requests.length };
      expect(exercised).toHaveLength(contract.operations.length);
    } finally {
      await fake.close();
    }
  });
});

describe("Vercel client against the Vercel REST API (vercel/sdk)", () => {
  it("sends and reads only what the description has, on every call it makes", async () => {
    const contract = await fixture("vercel");
    const token = "vercel-contract-token";
    const fake = await startVercelFake({ token, teamId: "team_c" });
    const root = await mkdtemp(path.join(os.tmpdir(), "toolkit-contracts-"));
    try {
      const env: ToolkitEnv = { ...base(), workspaceRoot: root, vercel: { token, baseUrl: fake.url, teamId: "team_c", retry, pollIntervalMs: 1 } };
      const call = runner(vercelTools, env);
      await mkdir(path.join(root, "web"), { recursive: true });
      await writeFile(path.join(root, "web", "index.html"), "<h1>hi</h1>\n");
      const project = await call("vercel_create_project", { name: "web" });
      await call("vercel_create_project", { name: "web" });
      fake.inject({ method: "POST", path: /^\/v11\/projects$/, times: 1, afterRoute: true, reply: { status: 500, body: { error: { code: "x", message: "x" } } } });
      await call("vercel_create_project", { name: "web2" });
      await call("vercel_set_env", { project_id: project.project_id, env: { A: "1" }, target: ["production"] });
      const deployed = await call("vercel_deploy", { project_id: project.project_id, env: { B: "2" } });
      await call("vercel_deploy", { project_id: project.project_id, target: "preview" });
      await call("vercel_get_deployment", { deployment_id: deployed.deployment_id });
      expect((await call("vercel_list_projects", {})).projects).toEqual([
        { project_id: project.project_id, name: "web" },
        expect.objectContaining({ name: "web2" }),
      ]);
      const listed = (await call("vercel_list_deployments", { project_id: "web" })).deployments as { deployment_id: string; state: string }[];
      expect(listed).toHaveLength(2);
      expect(listed[1]).toMatchObject({ deployment_id: deployed.deployment_id, state: "READY" });
      await call("vercel_delete_project", { project_id: project.project_id });
      const exercised = check(contract, fake.requests);
      counts.vercel = { exercised: exercised.length, inContract: contract.operations.length, requests: fake.requests.length };
      expect(exercised).toHaveLength(contract.operations.length);
    } finally {
      await fake.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("Fly client against the Machines API (superfly/fly-go)", () => {
  it("sends and reads only what the description has, on every call it makes", async () => {
    const contract = await fixture("fly");
    const token = "fly-contract-token";
    const fake = await startFlyFake({ token });
    try {
      const call = runner(flyTools, { ...base(), fly: { token, baseUrl: fake.url, orgSlug: "personal", retry } });
      await call("fly_create_app", { app_name: "web" });
      await call("fly_create_app", { app_name: "web" });
      fake.inject({ method: "POST", path: /^\/apps$/, times: 1, afterRoute: true, reply: { status: 500, body: { error: "x" } } });
      await call("fly_create_app", { app_name: "web2", org_slug: "acme" });
      const secrets = await call("fly_set_secrets", { app_name: "web", secrets: { A: "1" } });
      await call("fly_deploy", { app_name: "web", image: "nginx", env: { X: "1" }, region: "ams", secrets_version: secrets.version });
      await call("fly_deploy", { app_name: "web", image: "nginx:2", secrets: { B: "2" } });
      expect((await call("fly_get_app", { app_name: "web" }))).toMatchObject({ app_name: "web", state: "started", url: "https://web.fly.dev" });
      expect((await call("fly_list_apps", {})).apps).toEqual([{ app_name: "web", status: "unknown" }]);
      expect((await call("fly_list_apps", { org_slug: "acme" })).apps).toEqual([{ app_name: "web2", status: "unknown" }]);
      await call("fly_delete_app", { app_name: "web" });
      const exercised = check(contract, fake.requests);
      counts.fly = { exercised: exercised.length, inContract: contract.operations.length, requests: fake.requests.length };
      expect(exercised).toHaveLength(contract.operations.length);
    } finally {
      await fake.close();
    }
  });
});

describe("GitHub client against the description on npm (@octokit/openapi)", () => {
  const GITHUB_OPERATIONS = [
    { method: "GET", path: "/user" },
    { method: "POST", path: "/user/repos" },
    { method: "POST", path: "/orgs/{org}/repos" },
    { method: "GET", path: "/user/repos" },
    { method: "GET", path: "/orgs/{org}/repos" },
    { method: "GET", path: "/repos/{owner}/{repo}" },
    { method: "DELETE", path: "/repos/{owner}/{repo}" },
    { method: "POST", path: "/repos/{owner}/{repo}/pulls" },
    { method: "GET", path: "/repos/{owner}/{repo}/pulls" },
    { method: "PATCH", path: "/repos/{owner}/{repo}/pulls/{pull_number}" },
  ];

  it("sends and reads only what the description has, on every call it makes", async () => {
    const specFile = path.join(import.meta.dirname, "..", "..", "node_modules", "@octokit", "openapi", "generated", "api.github.com.json");
    const doc = JSON.parse(await readFile(specFile, "utf8")) as Record<string, unknown>;
    const pkg = JSON.parse(await readFile(path.join(path.dirname(specFile), "..", "package.json"), "utf8")) as { version: string };
    const contract: Contract = {
      provider: "github",
      source: { spec: "GitHub REST API description (api.github.com)", version: String((doc.info as { version?: string }).version), from: `@octokit/openapi ${pkg.version}` },
      operations: extractOperations(doc, GITHUB_OPERATIONS),
    };
    const token = "ghp_contracttoken000000000000";
    const fake = await startGitHubFake({ token, login: "octo", orgs: ["acme"] });
    try {
      const github = { token, baseUrl: fake.url, retry, maxRateLimitWaitMs: 1_000 };
      const call = runner(githubTools, { ...base(), github });
      await call("github_create_repo", { name: "app", description: "d" });
      await call("github_create_repo", { name: "app" });
      await call("github_create_repo", { name: "team-app", owner: "acme", private: false, auto_init: false });
      fake.inject({ method: "POST", path: /^\/user\/repos$/, times: 1, afterRoute: true, reply: { status: 502, body: { message: "x" } } });
      await call("github_create_repo", { name: "adopted" });
      expect(((await call("github_list_repos", {})).repos as { full_name: string }[]).map((r) => r.full_name).sort()).toEqual(["octo/adopted", "octo/app"]);
      expect(((await call("github_list_repos", { owner: "acme" })).repos as { full_name: string }[]).map((r) => r.full_name)).toEqual(["acme/team-app"]);
      (fake as unknown as { repos: Map<string, { branches: Set<string> }> }).repos.get("octo/app")?.branches.add("feature");
      const pull = await call("github_create_pull_request", { repo: "app", title: "t", head: "feature", body: "b", draft: false });
      await call("github_create_pull_request", { repo: "app", title: "t", head: "feature" });
      await call("github_close_pull_request", { repo: "app", number: pull.number });
      await call("github_delete_repo", { name: "app" });
      const exercised = check(contract, fake.requests);
      counts.github = { exercised: exercised.length, inContract: contract.operations.length, requests: fake.requests.length };
      expect(exercised).toHaveLength(contract.operations.length);
      expect(findOperation(contract, "GET", "/rate_limit")).toBeUndefined();
    } finally {
      await fake.close();
    }
  });
});

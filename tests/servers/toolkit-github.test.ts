import { afterEach, describe, expect, it } from "vitest";
import { isProviderError } from "../../src/servers/toolkit/http.ts";
import { githubTools } from "../../src/servers/toolkit/providers/github.ts";
import type { ToolkitEnv, ToolkitTool } from "../../src/servers/toolkit/tool.ts";
import { startGitHubFake, type GitHubFake } from "../fixtures/fakes/github.ts";
import { checkedTool } from "./toolkit-core-client.ts";

const TOKEN = "ghp_testtoken0123456789abcdef";

function tool(name: string): ToolkitTool {
  return checkedTool(githubTools, name);
}

let fake: GitHubFake | undefined;

async function setup(github: Partial<NonNullable<ToolkitEnv["github"]>> = {}): Promise<{ fake: GitHubFake; env: ToolkitEnv }> {
  fake = await startGitHubFake({ token: TOKEN, login: "octo", orgs: ["acme"] });
  const env: ToolkitEnv = {
    dataDir: "/nonexistent/toolkit-github-test",
    localPostgresUrl: "postgres://127.0.0.1:1/none",
    localRedisUrl: "redis://127.0.0.1:1",
    github: { token: TOKEN, baseUrl: fake.url, retry: { baseDelayMs: 5, maxDelayMs: 20 }, maxRateLimitWaitMs: 5_000, ...github },
  };
  return { fake, env };
}

async function repoWithBranch(env: ToolkitEnv, f: GitHubFake, name: string): Promise<void> {
  await tool("github_create_repo").run({ name }, env);
  f.repos.get(`octo/${name}`)?.branches.add("feature");
}

const calls = (f: GitHubFake): string[] => f.requests.map((r) => `${r.method} ${r.path}`);
const rateLimited = (message: string, headers: Record<string, string> = {}) => ({
  status: 403,
  headers,
  body: { message, documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api" },
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("github cloud backend: repositories", () => {
  it("creates a repo for the token's user, with API version headers, and declares its rollback", async () => {
    const { fake, env } = await setup();
    const output = await tool("github_create_repo").run({ name: "rad-crawler", description: "crawler" }, env);
    expect(output).toEqual({
      owner: "octo",
      name: "rad-crawler",
      full_name: "octo/rad-crawler",
      html_url: "https://github.com/octo/rad-crawler",
      clone_url: "https://github.com/octo/rad-crawler.git",
      default_branch: "main",
      private: true,
      created: true,
    });
    expect(calls(fake)).toEqual(["GET /user", "POST /user/repos"]);
    const post = fake.requests[1];
    expect(post?.body).toEqual({ name: "rad-crawler", description: "crawler", private: true, auto_init: true });
    expect(post?.headers["x-github-api-version"]).toBe("2022-11-28");
    expect(post?.headers.accept).toBe("application/vnd.github+json");
    expect(tool("github_create_repo").rollback?.({ name: "rad-crawler" }, output)).toEqual({
      tool: "github_delete_repo",
      arguments: { owner: "octo", name: "rad-crawler" },
    });
  });

  it("creates a repo in an organization named by input or by the configured owner", async () => {
    const { fake, env } = await setup();
    expect(await tool("github_create_repo").run({ name: "svc", owner: "acme" }, env)).toMatchObject({ full_name: "acme/svc", created: true });
    const configured = await tool("github_create_repo").run({ name: "svc2" }, { ...env, github: { ...(env.github as NonNullable<ToolkitEnv["github"]>), owner: "acme" } });
    expect(configured).toMatchObject({ full_name: "acme/svc2" });
    expect(calls(fake).filter((c) => c.startsWith("POST"))).toEqual(["POST /orgs/acme/repos", "POST /orgs/acme/repos"]);
  });

  it("treats a 422 for an existing repo as done, with nothing to roll back", async () => {
    const { fake, env } = await setup();
    await tool("github_create_repo").run({ name: "twice" }, env);
    const again = await tool("github_create_repo").run({ name: "twice" }, env);
    expect(again).toMatchObject({ full_name: "octo/twice", created: false });
    expect(calls(fake).slice(-2)).toEqual(["POST /user/repos", "GET /repos/octo/twice"]);
    expect(tool("github_create_repo").rollback?.({ name: "twice" }, again)).toBeUndefined();
  });

  it("deletes a repo (204), and reports a missing one as not existing", async () => {
    const { fake, env } = await setup();
    await tool("github_create_repo").run({ name: "bye" }, env);
    expect(tool("github_delete_repo").destructive).toBe(true);
    expect(await tool("github_delete_repo").run({ name: "bye" }, env)).toEqual({ full_name: "octo/bye", deleted: true, existed: true });
    expect(fake.repos.size).toBe(0);
    expect(await tool("github_delete_repo").run({ name: "bye", owner: "octo" }, env)).toEqual({ full_name: "octo/bye", deleted: true, existed: false });
  });
});

describe("github cloud backend: pull requests", () => {
  it("opens a pull request and declares closing it as the rollback", async () => {
    const { fake, env } = await setup();
    await repoWithBranch(env, fake, "app");
    const output = await tool("github_create_pull_request").run({ repo: "app", title: "Add crawler", head: "feature" }, env);
    expect(output).toEqual({
      number: 1,
      html_url: "https://github.com/octo/app/pull/1",
      state: "open",
      title: "Add crawler",
      head: "feature",
      base: "main",
      owner: "octo",
      repo: "app",
      created: true,
    });
    expect(tool("github_create_pull_request").rollback?.({}, output)).toEqual({
      tool: "github_close_pull_request",
      arguments: { owner: "octo", repo: "app", number: 1 },
    });
  });

  it("treats 422 'A pull request already exists' as done by looking the open one up", async () => {
    const { fake, env } = await setup();
    await repoWithBranch(env, fake, "app");
    await tool("github_create_pull_request").run({ repo: "app", title: "First", head: "feature" }, env);
    const again = await tool("github_create_pull_request").run({ repo: "app", title: "Second", head: "feature" }, env);
    expect(again).toMatchObject({ number: 1, title: "First", state: "open", created: false });
    const lookup = fake.requests.at(-1);
    expect(`${lookup?.method} ${lookup?.path}`).toBe("GET /repos/octo/app/pulls");
    expect(Object.fromEntries(lookup?.query ?? [])).toEqual({ state: "open", head: "octo:feature", base: "main" });
    expect(tool("github_create_pull_request").rollback?.({}, again)).toBeUndefined();
  });

  it("fails with the 422 when no open pull request explains it (e.g. a missing branch)", async () => {
    const { fake, env } = await setup();
    await repoWithBranch(env, fake, "app");
    const failure = await tool("github_create_pull_request")
      .run({ repo: "app", title: "x", head: "no-such-branch" }, env)
      .catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(422);
    expect((failure as Error).message).toMatch(/Validation Failed/);
  });

  it("closes a pull request with PATCH state=closed", async () => {
    const { fake, env } = await setup();
    await repoWithBranch(env, fake, "app");
    await tool("github_create_pull_request").run({ repo: "app", title: "x", head: "feature" }, env);
    const closed = await tool("github_close_pull_request").run({ repo: "app", number: 1 }, env);
    expect(closed).toMatchObject({ number: 1, state: "closed" });
    expect(fake.requests.at(-1)).toMatchObject({ method: "PATCH", path: "/repos/octo/app/pulls/1", body: { state: "closed" } });
    const missing = await tool("github_close_pull_request").run({ repo: "app", number: 9 }, env).catch((error: unknown) => error);
    expect(isProviderError(missing) && missing.status).toBe(404);
  });
});

describe("github cloud backend: rate limits", () => {
  const inSeconds = (s: number): string => String(Math.floor(Date.now() / 1000) + s);

  it("waits out a 403 primary rate limit until the x-ratelimit-reset of that answer, then retries", async () => {
    const { fake, env } = await setup();
    await repoWithBranch(env, fake, "app");
    fake.inject({
      method: "POST",
      path: /\/pulls$/,
      times: 1,
      reply: rateLimited("API rate limit exceeded for user ID 1.", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": inSeconds(2) }),
    });
    const started = Date.now();
    const output = await tool("github_create_pull_request").run({ repo: "app", title: "x", head: "feature" }, env);
    expect(output).toMatchObject({ number: 1, created: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(calls(fake).slice(-2)).toEqual(["POST /repos/octo/app/pulls", "POST /repos/octo/app/pulls"]);
  });

  it("fails at once when the reset is further away than maxRateLimitWaitMs", async () => {
    const { fake, env } = await setup();
    fake.inject({
      method: "POST",
      path: /\/user\/repos$/,
      times: 5,
      reply: rateLimited("API rate limit exceeded for user ID 1.", { "x-ratelimit-remaining": "0", "x-ratelimit-reset": inSeconds(3_600) }),
    });
    const failure = await tool("github_create_repo").run({ name: "later" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(403);
    expect((failure as Error).message).toMatch(/API rate limit exceeded .*longer than the 5000 ms limit/);
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("treats a 403 secondary rate limit (quota left) as at least a one-minute wait, over the limit here", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /\/user\/repos$/, times: 5, reply: rateLimited("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.") });
    const failure = await tool("github_create_repo").run({ name: "later" }, env).catch((error: unknown) => error);
    expect((failure as Error).message).toMatch(/secondary rate limit.*rate limited for 60 s/);
  });

  it("honours retry-after on a 403 rate limit", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /\/user\/repos$/, times: 1, reply: rateLimited("You have exceeded a secondary rate limit.", { "retry-after": "1" }) });
    const started = Date.now();
    expect(await tool("github_create_repo").run({ name: "after" }, env)).toMatchObject({ created: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(2);
  });

  it("waits until the reset on a 429 without retry-after, not a few milliseconds", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "GET", path: /^\/user$/, times: 1, reply: { status: 429, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": inSeconds(2) }, body: { message: "API rate limit exceeded" } } });
    const started = Date.now();
    expect(await tool("github_create_repo").run({ name: "reset" }, env)).toMatchObject({ created: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("takes a 429 without retry-after or used-up quota as at least a minute, over the limit here", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "GET", path: /^\/user$/, times: 1, reply: { status: 429, body: { message: "Too many requests" } } });
    const failure = await tool("github_create_repo").run({ name: "minute" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(429);
    expect((failure as Error).message).toMatch(/rate limited for 60 s, longer than the 5000 ms limit/);
    expect(fake.requests.filter((r) => r.path === "/user")).toHaveLength(1);
  });

  it("does not treat a 403 that is not a rate limit as one", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "DELETE", path: /^\/repos\//, times: 1, reply: { status: 403, body: { message: "Must have admin rights to Repository." } } });
    const failure = await tool("github_delete_repo").run({ name: "x" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(403);
    expect(fake.requests.filter((r) => r.method === "DELETE")).toHaveLength(1);
  });

  it("honours retry-after on a 429, and fails when it exceeds maxRateLimitWaitMs", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "GET", path: /^\/user$/, times: 1, reply: { status: 429, headers: { "retry-after": "1" }, body: { message: "slow down" } } });
    const started = Date.now();
    expect(await tool("github_create_repo").run({ name: "patient" }, env)).toMatchObject({ created: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    fake.inject({ method: "GET", path: /^\/user$/, times: 1, reply: { status: 429, headers: { "retry-after": "3600" }, body: { message: `slow down ${TOKEN}` } } });
    const failure = await tool("github_create_repo").run({ name: "impatient" }, env).catch((error: unknown) => error);
    expect(isProviderError(failure) && failure.status).toBe(429);
    expect((failure as Error).message).toMatch(/rate limited for 3600 s, longer than the 5000 ms limit/);
    expect((failure as Error).message).not.toContain(TOKEN);
  });
});

describe("github cloud backend: creates after a failed response", () => {
  it("adopts a repository created before its 502, instead of reporting the 422 of a retry as existing", async () => {
    const { fake, env } = await setup();
    fake.inject({ method: "POST", path: /^\/user\/repos$/, times: 1, afterRoute: true, reply: { status: 502, body: { message: "Server Error" } } });
    const output = await tool("github_create_repo").run({ name: "adopted" }, env);
    expect(output).toMatchObject({ full_name: "octo/adopted", created: true });
    expect(tool("github_create_repo").rollback?.({ name: "adopted" }, output)).toEqual({ tool: "github_delete_repo", arguments: { owner: "octo", name: "adopted" } });
    expect(fake.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("adopts a pull request opened before its 500", async () => {
    const { fake, env } = await setup();
    await repoWithBranch(env, fake, "prs");
    fake.inject({ method: "POST", path: /\/pulls$/, times: 1, afterRoute: true, reply: { status: 500, body: { message: "Server Error" } } });
    const output = await tool("github_create_pull_request").run({ repo: "prs", title: "x", head: "feature" }, env);
    expect(output).toMatchObject({ number: 1, created: true });
    expect(fake.repos.get("octo/prs")?.pulls).toHaveLength(1);
  });
});

describe("github input validation", () => {
  it("names the bad field", async () => {
    const { env } = await setup();
    await expect(tool("github_create_repo").run({ name: "../evil" }, env)).rejects.toThrow(/^github_create_repo: invalid input: name: /);
    await expect(tool("github_close_pull_request").run({ repo: "app", number: 0 }, env)).rejects.toThrow(/number: /);
    await expect(tool("github_create_pull_request").run({ repo: "app", title: "t", head: "--upload-pack=x" }, env)).rejects.toThrow(/head: /);
  });
});

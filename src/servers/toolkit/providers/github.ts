import { z } from "zod";
import { createOnce } from "../create-once.ts";
import { createHttpClient, isProviderError, parseRetryAfter, type HttpClient } from "../http.ts";
import { parseToolInput, type ToolkitEnv, type ToolkitTool } from "../tool.ts";
import { LocalGit, LocalGitError, type LocalPullRequest, type LocalRepo } from "./local/git.ts";

type GitHubConfig = NonNullable<ToolkitEnv["github"]>;

const LOCAL_OWNER = "local";
/** GitHub's advice for a rate limit without retry-after or a used-up quota: wait at least a minute. */
const SECONDARY_LIMIT_WAIT_MS = 60_000;

const owner = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "expected a GitHub user or organization name")
  .describe("Owner (default: GITHUB_OWNER, else the token's user; 'local' for the local provider)");
const repoName = z
  .string()
  .regex(/^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/, "expected a repository name: letters, digits, '.', '_' or '-'");
const branch = z
  .string()
  .regex(/^(?!-)[^\s~^:?*[\\]+$/, "expected a branch name")
  .describe("Branch name");

const createRepoInput = z.object({
  name: repoName,
  owner: owner.optional(),
  description: z.string().optional(),
  private: z.boolean().default(true),
  auto_init: z.boolean().default(true).describe("Create a first commit on the default branch"),
});
const deleteRepoInput = z.object({ name: repoName, owner: owner.optional() });
const createPullInput = z.object({
  repo: repoName,
  owner: owner.optional(),
  title: z.string().min(1),
  head: z.string().regex(/^(?!-)[^\s~^?*[\\]+$/, "expected a branch name or owner:branch").describe("Branch with the changes"),
  base: branch.default("main").describe("Branch to merge into"),
  body: z.string().optional(),
  draft: z.boolean().optional(),
});
const listReposInput = z.object({ owner: owner.optional() });
const closePullInput = z.object({ repo: repoName, owner: owner.optional(), number: z.number().int().positive() });

interface GitHubRepo {
  name: string;
  full_name: string;
  html_url: string;
  clone_url: string;
  default_branch: string;
  private: boolean;
  owner: { login: string };
}

interface GitHubPull {
  number: number;
  html_url: string;
  state: string;
  title: string;
  head: { ref: string };
  base: { ref: string };
}

const part = encodeURIComponent;

// ---------------------------------------------------------------- client with rate limits

/**
 * The GitHub REST client. A rate limit (429, or a 403 that says so or has used up its quota) is
 * waited out as GitHub asks: `retry-after` when given, else until `x-ratelimit-reset` when
 * `x-ratelimit-remaining` is 0, else a minute, doubling per attempt. A longer wait than
 * `maxRateLimitWaitMs` fails the call instead. A rate-limited call did not happen, so a create
 * is repeated too.
 */
function githubClient(cfg: GitHubConfig): HttpClient {
  const maxWaitMs = cfg.maxRateLimitWaitMs ?? 60_000;
  return createHttpClient({
    provider: "github",
    baseUrl: cfg.baseUrl,
    auth: { type: "bearer", token: cfg.token },
    headers: { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" },
    retry: { maxRetryAfterMs: maxWaitMs, ...cfg.retry },
    rateLimit: githubRateLimit,
  });
}

/** How long a rate-limited GitHub answer asks to wait; undefined when it is no rate limit. */
export function githubRateLimit(res: { status: number; headers: Headers; message: string; attempt: number }): { waitMs: number } | undefined {
  const exhausted = res.headers.get("x-ratelimit-remaining") === "0";
  const limited = res.status === 429 || (res.status === 403 && (exhausted || /rate limit/i.test(res.message)));
  if (!limited) return undefined;
  const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
  if (retryAfter !== undefined) return { waitMs: retryAfter };
  const reset = Number(res.headers.get("x-ratelimit-reset"));
  if (exhausted && Number.isFinite(reset) && reset > 0) return { waitMs: Math.max(0, reset * 1000 - Date.now()) };
  return { waitMs: SECONDARY_LIMIT_WAIT_MS * 2 ** (res.attempt - 1) };
}

/** The token's own login. */
async function viewer(api: HttpClient, signal?: AbortSignal): Promise<string> {
  return (await api.request<{ login: string }>("/user", { signal })).data.login;
}

async function ownerOf(api: HttpClient, cfg: GitHubConfig, given: string | undefined, signal?: AbortSignal): Promise<string> {
  return given ?? cfg.owner ?? viewer(api, signal);
}

// ---------------------------------------------------------------- repositories

type CreateRepoArgs = z.infer<typeof createRepoInput>;

async function createRepo(env: ToolkitEnv, args: CreateRepoArgs, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.github) {
    const { repo, created } = await new LocalGit(env.dataDir).createRepo(args.owner ?? LOCAL_OWNER, args.name, {
      autoInit: args.auto_init,
      description: args.description,
    });
    return localRepoOutput(repo, args.private, created);
  }
  const cfg = env.github;
  const api = githubClient(cfg);
  const login = await viewer(api, signal);
  const target = args.owner ?? cfg.owner ?? login;
  const path = target.toLowerCase() === login.toLowerCase() ? "/user/repos" : `/orgs/${part(target)}/repos`;
  const body = { name: args.name, description: args.description, private: args.private, auto_init: args.auto_init };
  const find = async (): Promise<GitHubRepo | undefined> => {
    try {
      return (await api.request<GitHubRepo>(`/repos/${part(target)}/${part(args.name)}`, { signal })).data;
    } catch (error) {
      if (isProviderError(error) && error.status === 404) return undefined;
      throw error;
    }
  };
  try {
    // After a 5xx or a timeout the repository may exist: it is then this call's to roll back.
    const data = await createOnce<GitHubRepo>(
      `repository ${target}/${args.name}`,
      { create: async () => (await api.request<GitHubRepo>(path, { method: "POST", body, signal })).data, find },
      { delayMs: cfg.retry?.baseDelayMs, signal },
    );
    return repoOutput(data, true);
  } catch (error) {
    if (!isProviderError(error) || error.status !== 422) throw error;
    const existing = await api.request<GitHubRepo>(`/repos/${part(target)}/${part(args.name)}`, { signal }).catch(() => undefined);
    if (!existing) throw error;
    return repoOutput(existing.data, false);
  }
}

function repoOutput(repo: GitHubRepo, created: boolean): Record<string, unknown> {
  return {
    owner: repo.owner.login,
    name: repo.name,
    full_name: repo.full_name,
    html_url: repo.html_url,
    clone_url: repo.clone_url,
    default_branch: repo.default_branch,
    private: repo.private,
    created,
  };
}

function localRepoOutput(repo: LocalRepo, isPrivate: boolean, created: boolean): Record<string, unknown> {
  return {
    owner: repo.owner,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    html_url: repo.url,
    clone_url: repo.url,
    default_branch: repo.defaultBranch,
    private: isPrivate,
    created,
  };
}

/**
 * The repositories of one owner: the token's own (`/user/repos`, private ones included), or an
 * organization's (`/orgs/{org}/repos`). First 100, newest pushed first.
 */
async function listRepos(env: ToolkitEnv, args: z.infer<typeof listReposInput>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.github) {
    const repos = await new LocalGit(env.dataDir).listRepos(args.owner);
    return { repos: repos.map((r) => ({ owner: r.owner, name: r.name, full_name: `${r.owner}/${r.name}`, html_url: r.url, private: true })) };
  }
  const cfg = env.github;
  const api = githubClient(cfg);
  const login = await viewer(api, signal);
  const target = args.owner ?? cfg.owner ?? login;
  const mine = target.toLowerCase() === login.toLowerCase();
  const path = mine ? "/user/repos" : `/orgs/${part(target)}/repos`;
  const query = mine ? { affiliation: "owner", per_page: 100, sort: "pushed" } : { per_page: 100, sort: "pushed" };
  const { data } = await api.request<GitHubRepo[]>(path, { query, signal });
  return { repos: (data ?? []).map((r) => ({ owner: r.owner.login, name: r.name, full_name: r.full_name, html_url: r.html_url, private: r.private })) };
}

async function deleteRepo(env: ToolkitEnv, args: z.infer<typeof deleteRepoInput>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.github) {
    const repoOwner = args.owner ?? LOCAL_OWNER;
    const existed = await new LocalGit(env.dataDir).deleteRepo(repoOwner, args.name);
    return { full_name: `${repoOwner}/${args.name}`, deleted: true, existed };
  }
  const api = githubClient(env.github);
  const repoOwner = await ownerOf(api, env.github, args.owner, signal);
  const full = `${repoOwner}/${args.name}`;
  try {
    await api.request(`/repos/${part(repoOwner)}/${part(args.name)}`, { method: "DELETE", signal });
    return { full_name: full, deleted: true, existed: true };
  } catch (error) {
    if (isProviderError(error) && error.status === 404) return { full_name: full, deleted: true, existed: false };
    throw error;
  }
}

// ---------------------------------------------------------------- pull requests

type CreatePullArgs = z.infer<typeof createPullInput>;

async function createPull(env: ToolkitEnv, args: CreatePullArgs, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.github) return createLocalPull(env, args);
  const api = githubClient(env.github);
  const repoOwner = await ownerOf(api, env.github, args.owner, signal);
  const pulls = `/repos/${part(repoOwner)}/${part(args.repo)}/pulls`;
  const body = { title: args.title, head: args.head, base: args.base, body: args.body, draft: args.draft };
  const head = args.head.includes(":") ? args.head : `${repoOwner}:${args.head}`;
  const findOpen = async (): Promise<GitHubPull | undefined> =>
    (await api.request<GitHubPull[]>(pulls, { query: { state: "open", head, base: args.base }, signal })).data[0];
  try {
    const data = await createOnce<GitHubPull>(
      `pull request ${head} → ${args.base}`,
      { create: async () => (await api.request<GitHubPull>(pulls, { method: "POST", body, signal })).data, find: findOpen },
      { delayMs: env.github.retry?.baseDelayMs, signal },
    );
    return { ...pullOutput(data), owner: repoOwner, repo: args.repo, created: true };
  } catch (error) {
    if (!isProviderError(error) || error.status !== 422) throw error;
    const existing = await findOpen();
    if (!existing) throw error;
    return { ...pullOutput(existing), owner: repoOwner, repo: args.repo, created: false };
  }
}

async function createLocalPull(env: ToolkitEnv, args: CreatePullArgs): Promise<Record<string, unknown>> {
  const repoOwner = args.owner ?? LOCAL_OWNER;
  const local = new LocalGit(env.dataDir);
  const { pull, created } = await local.createPullRequest(repoOwner, args.repo, {
    title: args.title,
    head: localHead(args.head, repoOwner),
    base: args.base,
    body: args.body,
  });
  return { ...localPullOutput(local, repoOwner, args.repo, pull), owner: repoOwner, repo: args.repo, created };
}

/** `owner:branch` names a branch of the same repository only when the owner is the repository's. */
function localHead(head: string, repoOwner: string): string {
  const [prefix, ...rest] = head.split(":");
  if (rest.length === 0) return head;
  if (prefix !== repoOwner) {
    throw new LocalGitError("UNSUPPORTED", `head: cross-repository pull requests (${head}) are not supported by the local provider`);
  }
  return rest.join(":");
}

async function closePull(env: ToolkitEnv, args: z.infer<typeof closePullInput>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.github) {
    const repoOwner = args.owner ?? LOCAL_OWNER;
    const local = new LocalGit(env.dataDir);
    return localPullOutput(local, repoOwner, args.repo, await local.closePullRequest(repoOwner, args.repo, args.number));
  }
  const api = githubClient(env.github);
  const repoOwner = await ownerOf(api, env.github, args.owner, signal);
  const { data } = await api.request<GitHubPull>(`/repos/${part(repoOwner)}/${part(args.repo)}/pulls/${args.number}`, {
    method: "PATCH",
    body: { state: "closed" },
    // Closing a closed pull request changes nothing: safe to repeat.
    idempotent: true,
    signal,
  });
  return pullOutput(data);
}

function pullOutput(pull: GitHubPull): Record<string, unknown> {
  return { number: pull.number, html_url: pull.html_url, state: pull.state, title: pull.title, head: pull.head.ref, base: pull.base.ref };
}

function localPullOutput(local: LocalGit, repoOwner: string, repo: string, pull: LocalPullRequest): Record<string, unknown> {
  return {
    number: pull.number,
    html_url: local.pullUrl(local.repo(repoOwner, repo), pull.number),
    state: pull.state,
    title: pull.title,
    head: pull.head,
    base: pull.base,
  };
}

// ---------------------------------------------------------------- tools

export const githubTools: ToolkitTool[] = [
  {
    name: "github_create_repo",
    category: "github",
    description: "Create a GitHub repository (an existing one of that name is returned as is).",
    input: createRepoInput,
    rollback: (_input, output) =>
      output.created === true ? { tool: "github_delete_repo", arguments: { owner: output.owner, name: output.name } } : undefined,
    run: async (input, env, signal) => createRepo(env, parseToolInput("github_create_repo", createRepoInput, input), signal),
  },
  {
    name: "github_list_repos",
    readOnly: true,
    category: "github",
    description: "List the repositories of the token's user or of an organization (owner, name, URL): what exists now.",
    input: listReposInput,
    run: async (input, env, signal) => listRepos(env, parseToolInput("github_list_repos", listReposInput, input), signal),
  },
  {
    name: "github_delete_repo",
    category: "github",
    description: "Delete a GitHub repository.",
    input: deleteRepoInput,
    destructive: true,
    run: async (input, env, signal) => deleteRepo(env, parseToolInput("github_delete_repo", deleteRepoInput, input), signal),
  },
  {
    name: "github_create_pull_request",
    category: "github",
    description: "Open a pull request from head into base (an open one for the same branches counts as done).",
    input: createPullInput,
    rollback: (_input, output) =>
      output.created === true
        ? { tool: "github_close_pull_request", arguments: { owner: output.owner, repo: output.repo, number: output.number } }
        : undefined,
    run: async (input, env, signal) => createPull(env, parseToolInput("github_create_pull_request", createPullInput, input), signal),
  },
  {
    name: "github_close_pull_request",
    category: "github",
    description: "Close a pull request (GitHub has no delete for pull requests).",
    input: closePullInput,
    run: async (input, env, signal) => closePull(env, parseToolInput("github_close_pull_request", closePullInput, input), signal),
  },
];

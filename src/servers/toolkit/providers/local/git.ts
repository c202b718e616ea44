import { execFile } from "node:child_process";
import { access, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { writeJsonAtomic } from "../../../../atomic-write.ts";
import { withFileLock, withLock } from "./processes-registry.ts";

const run = promisify(execFile);

export type LocalGitErrorCode = "NOT_FOUND" | "UNSUPPORTED" | "INVALID" | "GIT_FAILED";

/** A failure of the local GitHub-like backend. */
export class LocalGitError extends Error {
  readonly code: LocalGitErrorCode;

  constructor(code: LocalGitErrorCode, message: string) {
    super(`local github: ${message}`);
    this.name = "LocalGitError";
    this.code = code;
  }
}

export function isLocalGitError(error: unknown): error is LocalGitError {
  return error instanceof LocalGitError;
}

export interface LocalRepo {
  owner: string;
  name: string;
  /** The bare repository's directory. */
  path: string;
  url: string;
  defaultBranch: string;
}

export interface LocalPullRequest {
  number: number;
  title: string;
  body?: string;
  head: string;
  base: string;
  state: "open" | "closed";
  createdAt: string;
  closedAt?: string;
}

export const DEFAULT_BRANCH = "main";
const IDENTITY = ["-c", "user.name=credit-optimizer", "-c", "user.email=credit-optimizer@localhost"];

/**
 * Bare git repositories under `<dataDir>/git/<owner>/<name>.git`, with pull requests kept as a
 * JSON file next to each repository (`<name>.pulls.json`).
 */
export class LocalGit {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, "git");
  }

  repo(owner: string, name: string): LocalRepo {
    const dir = path.join(this.root, owner, `${name}.git`);
    return { owner, name, path: dir, url: pathToFileURL(dir).href, defaultBranch: DEFAULT_BRANCH };
  }

  async exists(owner: string, name: string): Promise<boolean> {
    try {
      await access(path.join(this.repo(owner, name).path, "HEAD"));
      return true;
    } catch {
      return false;
    }
  }

  /** Creates a bare repository (with an empty first commit on main when `autoInit`); an existing one is kept. */
  async createRepo(owner: string, name: string, options: { autoInit: boolean; description?: string }): Promise<{ repo: LocalRepo; created: boolean }> {
    const repo = this.repo(owner, name);
    return withLock(repo.path, async () => {
      if (await this.exists(owner, name)) return { repo, created: false };
      await git(["init", "--bare", `--initial-branch=${DEFAULT_BRANCH}`, repo.path]);
      if (options.description) await writeFile(path.join(repo.path, "description"), `${options.description}\n`);
      if (options.autoInit) await initialCommit(repo.path);
      return { repo, created: true };
    });
  }

  /** Every repository, of one owner or of all. */
  async listRepos(owner?: string): Promise<LocalRepo[]> {
    const owners = owner !== undefined ? [owner] : await readdir(this.root).catch(() => [] as string[]);
    const out: LocalRepo[] = [];
    for (const o of owners.sort()) {
      const names = await readdir(path.join(this.root, o)).catch(() => [] as string[]);
      for (const n of names.filter((n) => n.endsWith(".git")).sort()) {
        const name = n.slice(0, -".git".length);
        if (await this.exists(o, name)) out.push(this.repo(o, name));
      }
    }
    return out;
  }

  /** Removes the repository and its pull requests; false when it did not exist. */
  async deleteRepo(owner: string, name: string): Promise<boolean> {
    const repo = this.repo(owner, name);
    return withLock(repo.path, async () => {
      const existed = await this.exists(owner, name);
      await rm(repo.path, { recursive: true, force: true });
      await rm(pullsFile(repo), { force: true });
      return existed;
    });
  }

  /** Opens a pull request between two existing branches; an open one for the same branches is returned instead. */
  async createPullRequest(
    owner: string,
    name: string,
    pr: { title: string; head: string; base: string; body?: string },
  ): Promise<{ pull: LocalPullRequest; created: boolean }> {
    const repo = await this.existing(owner, name);
    await requireBranch(repo, pr.head, "head");
    await requireBranch(repo, pr.base, "base");
    if (pr.head === pr.base) throw new LocalGitError("INVALID", `head and base are both "${pr.head}"`);
    return this.updatePulls(repo, (pulls) => {
      const open = pulls.find((p) => p.state === "open" && p.head === pr.head && p.base === pr.base);
      if (open) return { pull: open, created: false };
      const pull: LocalPullRequest = {
        number: Math.max(0, ...pulls.map((p) => p.number)) + 1,
        ...pr,
        state: "open",
        createdAt: new Date().toISOString(),
      };
      pulls.push(pull);
      return { pull, created: true };
    });
  }

  async closePullRequest(owner: string, name: string, number: number): Promise<LocalPullRequest> {
    const repo = await this.existing(owner, name);
    return this.updatePulls(repo, (pulls) => {
      const pull = pulls.find((p) => p.number === number);
      if (!pull) throw new LocalGitError("NOT_FOUND", `pull request #${number} does not exist in ${owner}/${name}`);
      if (pull.state === "open") Object.assign(pull, { state: "closed", closedAt: new Date().toISOString() });
      return pull;
    });
  }

  /** The web-like address of a pull request: the pulls file's URL with the number as fragment. */
  pullUrl(repo: LocalRepo, number: number): string {
    return `${pathToFileURL(pullsFile(repo)).href}#${number}`;
  }

  private async existing(owner: string, name: string): Promise<LocalRepo> {
    if (!(await this.exists(owner, name))) {
      throw new LocalGitError(
        "UNSUPPORTED",
        `pull requests on ${owner}/${name} are not supported by the local provider: ` +
          `it only knows repositories it created under ${this.root} (set GITHUB_TOKEN to use GitHub)`,
      );
    }
    return this.repo(owner, name);
  }

  private async updatePulls<T>(repo: LocalRepo, fn: (pulls: LocalPullRequest[]) => T): Promise<T> {
    const file = pullsFile(repo);
    return withFileLock(file, async () => {
      const pulls = await readPulls(file);
      const result = fn(pulls);
      await writeJsonAtomic(file, { pulls });
      return result;
    });
  }
}

function pullsFile(repo: LocalRepo): string {
  return path.join(path.dirname(repo.path), `${repo.name}.pulls.json`);
}

async function readPulls(file: string): Promise<LocalPullRequest[]> {
  try {
    return (JSON.parse(await readFile(file, "utf8")) as { pulls: LocalPullRequest[] }).pulls;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

async function requireBranch(repo: LocalRepo, branch: string, field: string): Promise<void> {
  try {
    await git(["--git-dir", repo.path, "rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`]);
  } catch {
    throw new LocalGitError("INVALID", `${field}: branch "${branch}" does not exist in ${repo.owner}/${repo.name}`);
  }
}

/** An empty first commit on the default branch (GitHub's auto_init, without a README). */
async function initialCommit(gitDir: string): Promise<void> {
  const tree = await git(["--git-dir", gitDir, "hash-object", "-t", "tree", "-w", "/dev/null"]);
  const commit = await git(["--git-dir", gitDir, ...IDENTITY, "commit-tree", tree, "-m", "Initial commit"]);
  await git(["--git-dir", gitDir, "update-ref", `refs/heads/${DEFAULT_BRANCH}`, commit]);
}

/** Runs git (no shell) and returns its trimmed stdout. */
async function git(args: string[]): Promise<string> {
  try {
    const { stdout } = await run("git", args);
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new LocalGitError("GIT_FAILED", `git ${args.join(" ")} failed: ${stderr || (error as Error).message}`);
  }
}

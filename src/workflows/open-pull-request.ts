import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { branchName, resourceName, workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: workspaceProject,
  repo_name: resourceName("new-repo", "Hosted repository to push to (created empty when missing)"),
  head: branchName("feature/new-feature", "Local branch with the changes"),
  base: branchName("main", "Branch to merge into"),
  title: z.string().min(1).default("New feature").describe("Pull request title"),
  body: z.string().default("").describe("Pull request description"),
});

/** Publish a local branch and ask for its review: push base and head, then open the pull request. */
export const openPullRequest: WorkflowTemplate<typeof params> = {
  id: "open-pull-request",
  name: "Open a Pull Request",
  description:
    "Publish a local feature branch and open a pull request for it: make sure the hosted repository exists, push the base and feature branches, and open the pull request (already open: returned as is)",
  category: "development",
  tags: ["pull request", "open pr", "push", "publish branch", "code review", "github"],
  examples: [
    "Open a pull request for my feature branch",
    "Push feature/login and open a PR against main",
    "Publish my branch to GitHub and ask for a code review",
  ],
  params,
  plan: {
    name: "Open a Pull Request",
    steps: [
      {
        id: "ensure_repo",
        agent: "coding",
        tool: "toolkit.github_create_repo",
        dependencies: [],
        params: { name: "${repo_name}", auto_init: false },
        estimate: ESTIMATES.githubRepo,
      },
      {
        id: "push",
        agent: "coding",
        tool: "workspace.git_push",
        dependencies: ["ensure_repo"],
        params: { project: "${project}", remote: "${ensure_repo.clone_url}", branches: ["${base}", "${head}"] },
        estimate: ESTIMATES.gitPush,
      },
      {
        id: "open_pr",
        agent: "coding",
        tool: "toolkit.github_create_pull_request",
        dependencies: ["push"],
        params: { repo: "${repo_name}", head: "${head}", base: "${base}", title: "${title}", body: "${body}" },
        estimate: ESTIMATES.githubPull,
      },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { branchName, resourceId, workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: workspaceProject,
  branch: branchName("feature/new-feature", "Git branch to create and check out"),
  from: branchName("main", "Start point of the branch"),
  project_id: resourceId("Neon project of the app; the feature gets its own database branch"),
});

/** A git branch to work on and a database branch to match, ready at the same time. */
export const featureBranch: WorkflowTemplate<typeof params> = {
  id: "feature-branch",
  name: "Start a Feature Branch",
  description: "Start work on a feature: create and check out a git branch, and in parallel a Neon database branch with a copy of the data and its connection string",
  category: "development",
  tags: ["feature", "git branch", "checkout", "start work", "database branch", "isolated data"],
  examples: [
    "Start a feature branch with its own copy of the database",
    "Create git branch feature/login and a matching database branch",
    "Begin work on a new feature in an isolated branch",
  ],
  params,
  plan: {
    name: "Start a Feature Branch",
    steps: [
      {
        id: "git_branch",
        agent: "coding",
        tool: "workspace.git_branch",
        dependencies: [],
        params: { project: "${project}", action: "create", name: "${branch}", from: "${from}", checkout: true },
        estimate: ESTIMATES.gitLocal,
      },
      {
        id: "database_branch",
        agent: "db",
        tool: "toolkit.neon_create_branch",
        dependencies: [],
        params: { project_id: "${project_id}", name: "${branch}" },
        estimate: ESTIMATES.neonBranch,
      },
      {
        id: "status",
        agent: "coding",
        tool: "workspace.git_status",
        dependencies: ["git_branch"],
        params: { project: "${project}" },
        estimate: ESTIMATES.gitLocal,
      },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({ project: workspaceProject });

/** What is about to be committed, and whether it lints and passes its tests. */
export const preCommitCheck: WorkflowTemplate<typeof params> = {
  id: "pre-commit-check",
  name: "Pre-commit Review",
  description: "Review uncommitted changes of a git project: status and diff of what changed, with lint findings and test results, all in parallel",
  category: "code-quality",
  tags: ["pre-commit", "review", "diff", "changes", "uncommitted", "git status"],
  examples: [
    "Review my uncommitted changes before I commit",
    "Show the diff and run lint and tests on my changes",
    "Pre-commit check of the working tree",
  ],
  params,
  plan: {
    name: "Pre-commit Review",
    steps: [
      { id: "status", agent: "coding", tool: "workspace.git_status", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.gitLocal },
      { id: "diff", agent: "coding", tool: "workspace.git_diff", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.gitLocal },
      { id: "lint", agent: "coding", tool: "workspace.run_lint", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.lint },
      { id: "tests", agent: "coding", tool: "workspace.run_tests", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.tests },
    ],
  },
};

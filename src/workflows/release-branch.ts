import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: workspaceProject,
  version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, "expected a semantic version such as 1.2.0").default("0.1.0").describe("Release version"),
});

/** Record test and lint results, commit what is pending, and cut release/<version>. */
export const releaseBranch: WorkflowTemplate<typeof params> = {
  id: "release-branch",
  name: "Cut a Release Branch",
  description: "Prepare a release: run the tests and the linter in parallel (their results go in the report; they do not stop the release), commit pending changes as 'Release <version>', and create the release/<version> branch",
  category: "development",
  tags: ["release", "version", "release branch", "cut release", "tag", "ship"],
  examples: [
    "Cut release 1.2.0",
    "Prepare a release branch for version 2.0.0 after running the tests",
    "Tag a new release of my project",
  ],
  params,
  plan: {
    name: "Cut a Release Branch",
    steps: [
      { id: "tests", agent: "coding", tool: "workspace.run_tests", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.tests },
      { id: "lint", agent: "coding", tool: "workspace.run_lint", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.lint },
      {
        id: "commit",
        agent: "coding",
        tool: "workspace.git_commit",
        dependencies: ["tests", "lint"],
        params: { project: "${project}", message: "Release ${version}" },
        estimate: ESTIMATES.gitLocal,
      },
      {
        id: "release_branch",
        agent: "coding",
        tool: "workspace.git_branch",
        dependencies: ["commit"],
        params: { project: "${project}", action: "create", name: "release/${version}" },
        estimate: ESTIMATES.gitLocal,
      },
    ],
  },
};

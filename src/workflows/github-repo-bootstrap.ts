import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  repo_name: resourceName("new-repo", "Repository name (also the local project folder)"),
  description: z.string().default("").describe("Repository description"),
  private: z.boolean().default(true).describe("Private repository"),
  task: z.string().min(1).default("Create a Node.js HTTP service with a health endpoint").describe("What the code does"),
});

/** The hosted repository and the local project with its first commit, side by side. */
export const githubRepoBootstrap: WorkflowTemplate<typeof params> = {
  id: "github-repo-bootstrap",
  name: "GitHub Repository Bootstrap",
  description: "Create a GitHub repository and, in parallel, generate the project locally, initialise git and make the first commit, ready to push to the new repository",
  category: "development",
  tags: ["github", "repository", "repo", "git", "new repo", "initial commit"],
  examples: [
    "Create a GitHub repo for my new project",
    "Start a new repository on github with starter code",
    "New private repo plus a local project with an initial commit",
  ],
  params,
  plan: {
    name: "GitHub Repository Bootstrap",
    steps: [
      {
        id: "create_repo",
        agent: "coding",
        tool: "toolkit.github_create_repo",
        dependencies: [],
        params: { name: "${repo_name}", description: "${description}", private: "${private}" },
        estimate: ESTIMATES.githubRepo,
      },
      {
        id: "generate_code",
        agent: "coding",
        tool: "workspace.delegate_code_generation",
        dependencies: [],
        params: { task: "${task}", context: "Node.js", complexity: "simple", project: "${repo_name}" },
        estimate: ESTIMATES.codegenSimple,
      },
      { id: "git_init", agent: "coding", tool: "workspace.git_init", dependencies: ["generate_code"], params: { project: "${repo_name}" }, estimate: ESTIMATES.gitLocal },
      {
        id: "first_commit",
        agent: "coding",
        tool: "workspace.git_commit",
        dependencies: ["git_init"],
        params: { project: "${repo_name}", message: "Initial commit" },
        estimate: ESTIMATES.gitLocal,
      },
    ],
  },
};

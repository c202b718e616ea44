import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: resourceName("new-service", "Folder of the new service in the workspace"),
  task: z.string().min(1).default("Create a Node.js HTTP service with a health endpoint").describe("What the service does"),
  context: z.string().default("Node.js").describe("Stack and constraints"),
});

/** Generate a service, put it under git, and run its tests and the linter on it. */
export const scaffoldService: WorkflowTemplate<typeof params> = {
  id: "scaffold-service",
  name: "Scaffold a New Service",
  description: "Generate a new service into the workspace, initialise a git repository with a first commit, and run its tests and the linter on it in parallel",
  category: "development",
  tags: ["scaffold", "new project", "boilerplate", "generate", "bootstrap", "starter", "service"],
  examples: [
    "Scaffold a new Node service with tests and a git repo",
    "Generate a starter project and commit it",
    "Bootstrap a new microservice from a template",
  ],
  params,
  plan: {
    name: "Scaffold a New Service",
    steps: [
      {
        id: "generate_code",
        agent: "coding",
        tool: "workspace.delegate_code_generation",
        dependencies: [],
        params: { task: "${task}", context: "${context}", complexity: "simple", project: "${project}" },
        estimate: ESTIMATES.codegenSimple,
      },
      { id: "git_init", agent: "coding", tool: "workspace.git_init", dependencies: ["generate_code"], params: { project: "${project}" }, estimate: ESTIMATES.gitLocal },
      {
        id: "first_commit",
        agent: "coding",
        tool: "workspace.git_commit",
        dependencies: ["git_init"],
        params: { project: "${project}", message: "Scaffold ${project}" },
        estimate: ESTIMATES.gitLocal,
      },
      { id: "tests", agent: "coding", tool: "workspace.run_tests", dependencies: ["generate_code"], params: { project: "${project}" }, estimate: ESTIMATES.tests },
      { id: "lint", agent: "coding", tool: "workspace.run_lint", dependencies: ["generate_code"], params: { project: "${project}" }, estimate: ESTIMATES.lint },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: workspaceProject,
  tsconfig: z.string().min(1).default("tsconfig.json").describe("tsconfig path inside the project"),
});

/** Every check CI runs, at once: lint, types, tests, dependencies. */
export const qualityGate: WorkflowTemplate<typeof params> = {
  id: "quality-gate",
  name: "Quality Gate (CI checks)",
  description: "Run every CI check of a project in parallel — lint, type check, tests and the dependency audit — and report each result",
  category: "code-quality",
  tags: ["ci", "quality gate", "checks", "pipeline", "all checks", "pre-merge"],
  examples: [
    "Run all the CI checks on my project",
    "Is this project ready to merge? lint, types, tests and dependencies",
    "Full quality gate before I open a pull request",
  ],
  params,
  plan: {
    name: "Quality Gate",
    steps: [
      { id: "lint", agent: "coding", tool: "workspace.run_lint", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.lint },
      { id: "typecheck", agent: "coding", tool: "workspace.run_typecheck", dependencies: [], params: { project: "${project}", tsconfig: "${tsconfig}" }, estimate: ESTIMATES.typecheck },
      { id: "tests", agent: "coding", tool: "workspace.run_tests", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.tests },
      { id: "audit", agent: "coding", tool: "workspace.audit_dependencies", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.scan },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: workspaceProject,
  tsconfig: z.string().min(1).default("tsconfig.json").describe("tsconfig path inside the project"),
});

export const lintAndTypecheck: WorkflowTemplate<typeof params> = {
  id: "lint-and-typecheck",
  name: "Lint and Type Check",
  description: "Lint a project's TypeScript and JavaScript (unused code, debugger, console.log, explicit any) and type-check it with tsc, in parallel",
  category: "code-quality",
  tags: ["lint", "linter", "typecheck", "type check", "tsc", "typescript", "static analysis"],
  examples: [
    "Lint and type check my project",
    "Run the linter and tsc on the code",
    "Check my TypeScript for type errors and lint warnings",
  ],
  params,
  plan: {
    name: "Lint and Type Check",
    steps: [
      { id: "lint", agent: "coding", tool: "workspace.run_lint", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.lint },
      { id: "typecheck", agent: "coding", tool: "workspace.run_typecheck", dependencies: [], params: { project: "${project}", tsconfig: "${tsconfig}" }, estimate: ESTIMATES.typecheck },
    ],
  },
};

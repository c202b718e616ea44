import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({ project: workspaceProject });

export const techDebtReport: WorkflowTemplate<typeof params> = {
  id: "tech-debt-report",
  name: "Tech Debt Report",
  description: "Measure a project's technical debt in parallel: TODO, FIXME and HACK markers, lint findings, and code size per language",
  category: "code-quality",
  tags: ["tech debt", "todo", "fixme", "hack", "maintenance", "cleanup", "code size"],
  examples: [
    "How much tech debt does my project have?",
    "Find all the TODOs and FIXMEs in the code",
    "Give me a cleanup report: todos, lint warnings and lines of code",
  ],
  params,
  plan: {
    name: "Tech Debt Report",
    steps: [
      { id: "todos", agent: "coding", tool: "workspace.find_todos", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.scan },
      { id: "lint", agent: "coding", tool: "workspace.run_lint", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.lint },
      { id: "size", agent: "coding", tool: "workspace.count_lines", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.scan },
    ],
  },
};

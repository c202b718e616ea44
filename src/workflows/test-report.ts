import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project: workspaceProject,
  timeout_ms: z.number().int().positive().max(1_800_000).default(120_000).describe("Stop the test run after this many milliseconds"),
});

/** Test results next to the size of the code they cover (code and test lines per language). */
export const testReport: WorkflowTemplate<typeof params> = {
  id: "test-report",
  name: "Test Coverage Report",
  description: "Run a project's test suite and count its code lines per language in parallel: passed, failed and skipped tests with failure locations, next to the size of the code under test",
  category: "code-quality",
  tags: ["tests", "test suite", "coverage", "unit tests", "report", "failures"],
  examples: [
    "Run the tests and give me a coverage report",
    "Which tests are failing in my project?",
    "Test report with pass/fail counts and lines of code",
  ],
  params,
  plan: {
    name: "Test Coverage Report",
    steps: [
      { id: "tests", agent: "coding", tool: "workspace.run_tests", dependencies: [], params: { project: "${project}", timeoutMs: "${timeout_ms}" }, estimate: ESTIMATES.tests },
      { id: "size", agent: "coding", tool: "workspace.count_lines", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.scan },
    ],
  },
};

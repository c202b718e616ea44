import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { databaseName, resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_id: resourceId("Neon project of the app"),
  pr_number: z.number().int().positive().describe("Pull request number"),
  database_name: databaseName("neondb", "Database the pull request's code connects to"),
});

/** A Neon branch named after the pull request, with the connection string its CI and preview use. */
export const prDatabaseBranch: WorkflowTemplate<typeof params> = {
  id: "pr-database-branch",
  name: "Database Branch for a Pull Request",
  description: "Create a Neon database branch for a pull request (pr-<number>, a copy of the default branch's data) and return its connection string for CI and previews",
  category: "development",
  tags: ["pull request", "pr", "database branch", "ci database", "migration testing", "neon"],
  examples: [
    "Create a database branch for pull request 42",
    "Give PR #17 its own copy of the Neon database",
    "Branch the database so I can test migrations in my pull request",
  ],
  params,
  plan: {
    name: "Database Branch for a Pull Request",
    steps: [
      {
        id: "create_branch",
        agent: "db",
        tool: "toolkit.neon_create_branch",
        dependencies: [],
        params: { project_id: "${project_id}", name: "pr-${pr_number}" },
        estimate: ESTIMATES.neonBranch,
      },
      {
        id: "connection",
        agent: "db",
        tool: "toolkit.neon_get_connection_string",
        dependencies: ["create_branch"],
        params: { project_id: "${project_id}", branch_id: "${create_branch.branch_id}", database_name: "${database_name}" },
        estimate: ESTIMATES.neonRead,
      },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { databaseName, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_name: resourceName("app-envs", "Neon project name"),
  database_name: databaseName("app"),
});

/** One project; its database copied into a staging and a development branch in parallel. */
export const neonEnvironments: WorkflowTemplate<typeof params> = {
  id: "neon-environments",
  name: "Neon Staging and Development Branches",
  description: "Create a Neon project with a database, then staging and development branches of it in parallel, each with its own connection string (production stays on the default branch)",
  category: "infrastructure",
  tags: ["environments", "staging", "development", "dev", "neon", "branches", "postgres"],
  examples: [
    "Set up production, staging and dev databases on Neon",
    "Create staging and development environments for my Postgres database",
    "Neon project with a staging branch and a dev branch",
  ],
  params,
  plan: {
    name: "Neon Staging and Development Branches",
    steps: [
      { id: "create_project", agent: "db", tool: "toolkit.neon_create_project", dependencies: [], params: { name: "${project_name}" }, estimate: ESTIMATES.neonProject },
      {
        id: "create_database",
        agent: "db",
        tool: "toolkit.neon_create_database",
        dependencies: ["create_project"],
        params: { project_id: "${create_project.project_id}", database_name: "${database_name}" },
        estimate: ESTIMATES.neonDatabase,
      },
      {
        id: "staging_branch",
        agent: "db",
        tool: "toolkit.neon_create_branch",
        dependencies: ["create_project", "create_database"],
        params: { project_id: "${create_project.project_id}", name: "staging" },
        estimate: ESTIMATES.neonBranch,
      },
      {
        id: "dev_branch",
        agent: "db",
        tool: "toolkit.neon_create_branch",
        dependencies: ["create_project", "create_database"],
        params: { project_id: "${create_project.project_id}", name: "dev" },
        estimate: ESTIMATES.neonBranch,
      },
    ],
  },
};

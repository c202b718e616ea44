import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { branchName, databaseName, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_name: resourceName("app-db", "Neon project name"),
  database_name: databaseName("app"),
  branch_name: branchName("dev", "Development branch created from the default branch (a copy of its data)"),
});

/** Task 1.4: project, database, a development branch holding a copy of it, and its connection string. */
export const neonFullSetup: WorkflowTemplate<typeof params> = {
  id: "neon-full-setup",
  name: "Neon Database Full Setup",
  description: "Create a Neon Postgres project, a database in it, a development branch with a copy of that database, and the branch's connection string",
  category: "infrastructure",
  tags: ["neon", "postgres", "database", "project", "branch", "connection string", "serverless postgres"],
  examples: [
    "Set up a Neon database with a dev branch",
    "Create a Neon project with a database and give me the connection string",
    "Provision serverless Postgres on Neon for my app",
    "New neon postgres project plus database and development branch",
  ],
  params,
  plan: {
    name: "Neon Database Full Setup",
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
        id: "create_branch",
        agent: "db",
        tool: "toolkit.neon_create_branch",
        dependencies: ["create_project", "create_database"],
        params: { project_id: "${create_project.project_id}", name: "${branch_name}" },
        estimate: ESTIMATES.neonBranch,
      },
      {
        id: "branch_connection",
        agent: "db",
        tool: "toolkit.neon_get_connection_string",
        dependencies: ["create_project", "create_branch"],
        params: { project_id: "${create_project.project_id}", branch_id: "${create_branch.branch_id}", database_name: "${database_name}" },
        estimate: ESTIMATES.neonRead,
      },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_project_id: resourceId("Vercel project of the environment"),
  redis_id: resourceId("Upstash Redis database of the environment"),
  neon_project_id: resourceId("Neon project of the environment"),
});

/** Deletes a whole environment (app, cache, database project), in parallel. Irreversible. */
export const teardownEnvironment: WorkflowTemplate<typeof params> = {
  id: "teardown-environment",
  name: "Tear Down an Environment",
  description: "Delete a whole environment in parallel — the deployed app's project, its Redis database and its Neon project with every branch and database. Irreversible",
  category: "operations",
  tags: ["teardown", "tear down", "destroy", "delete", "decommission", "environment", "cleanup"],
  examples: [
    "Tear down the staging environment",
    "Destroy everything: app, database and cache",
    "Decommission an environment and delete all its resources",
  ],
  params,
  plan: {
    name: "Tear Down an Environment",
    steps: [
      { id: "delete_app", agent: "deploy", tool: "toolkit.vercel_delete_project", dependencies: [], params: { project_id: "${app_project_id}" }, estimate: ESTIMATES.vercelDelete },
      { id: "delete_cache", agent: "redis", tool: "toolkit.upstash_delete_database", dependencies: [], params: { database_id: "${redis_id}" }, estimate: ESTIMATES.redisDelete },
      { id: "delete_database", agent: "db", tool: "toolkit.neon_delete_project", dependencies: [], params: { project_id: "${neon_project_id}" }, estimate: ESTIMATES.neonDelete },
    ],
  },
};

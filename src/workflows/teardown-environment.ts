import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { deployProvider, resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_project_id: resourceId("App of the environment: its Vercel project id, or its Fly.io app name"),
  redis_id: resourceId("Upstash Redis database of the environment"),
  neon_project_id: resourceId("Neon project of the environment"),
  provider: deployProvider,
});

type Params = z.infer<typeof params>;

/** Deletes a whole environment (app, cache, database project), in parallel. Irreversible. */
function build(values: Pick<Params, "provider">): Omit<PlanInput, "params"> {
  const app =
    values.provider === "fly"
      ? { id: "delete_app", agent: "deploy", tool: "toolkit.fly_delete_app", dependencies: [], params: { app_name: "${app_project_id}" }, estimate: ESTIMATES.flyDelete }
      : { id: "delete_app", agent: "deploy", tool: "toolkit.vercel_delete_project", dependencies: [], params: { project_id: "${app_project_id}" }, estimate: ESTIMATES.vercelDelete };
  return {
    name: "Tear Down an Environment",
    steps: [
      app,
      { id: "delete_cache", agent: "redis", tool: "toolkit.upstash_delete_database", dependencies: [], params: { database_id: "${redis_id}" }, estimate: ESTIMATES.redisDelete },
      { id: "delete_database", agent: "db", tool: "toolkit.neon_delete_project", dependencies: [], params: { project_id: "${neon_project_id}" }, estimate: ESTIMATES.neonDelete },
    ],
  };
}

export const teardownEnvironment: WorkflowTemplate<typeof params> = {
  id: "teardown-environment",
  name: "Tear Down an Environment",
  description: "Delete a whole environment in parallel — the deployed app (Vercel project or Fly.io app), its Redis database and its Neon project with every branch and database. Irreversible",
  category: "operations",
  tags: ["teardown", "tear down", "destroy", "delete", "decommission", "environment", "cleanup"],
  examples: [
    "Tear down the staging environment",
    "Destroy everything: app, database and cache",
    "Decommission an environment and delete all its resources",
  ],
  params,
  plan: build({ provider: "vercel" }),
  build,
};

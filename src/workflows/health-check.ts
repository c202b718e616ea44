import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { deployProvider, resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  deployment_id: resourceId("Deployment to check: its Vercel deployment id, or its Fly.io app name"),
  redis_id: resourceId("Upstash Redis database to check"),
  project_id: resourceId("Neon project to check"),
  provider: deployProvider,
});

type Params = z.infer<typeof params>;

/** Every service of a deployed app read at once: deployment state, cache state, database reachability. */
function build(values: Pick<Params, "provider">): Omit<PlanInput, "params"> {
  const deployment =
    values.provider === "fly"
      ? { id: "deployment", agent: "deploy", tool: "toolkit.fly_get_app", dependencies: [], params: { app_name: "${deployment_id}" }, estimate: ESTIMATES.flyRead }
      : { id: "deployment", agent: "deploy", tool: "toolkit.vercel_get_deployment", dependencies: [], params: { deployment_id: "${deployment_id}" }, estimate: ESTIMATES.vercelRead };
  return {
    name: "Health Check",
    steps: [
      deployment,
      { id: "cache", agent: "redis", tool: "toolkit.upstash_get_database", dependencies: [], params: { database_id: "${redis_id}" }, estimate: ESTIMATES.redisRead },
      { id: "database", agent: "db", tool: "toolkit.neon_get_connection_string", dependencies: [], params: { project_id: "${project_id}" }, estimate: ESTIMATES.neonRead },
    ],
  };
}

export const healthCheck: WorkflowTemplate<typeof params> = {
  id: "health-check",
  name: "Health Check of Deployed Services",
  description: "Check a deployed app's services in parallel: the deployment's state (Vercel or Fly.io), the Redis database's state, and that the Postgres database answers with a connection string",
  category: "operations",
  tags: ["health", "health check", "status", "monitoring", "uptime", "is it up"],
  examples: [
    "Check the health of my deployed services",
    "Is my app up? check the deployment, database and cache",
    "Status check of production: vercel, neon and upstash",
  ],
  params,
  plan: build({ provider: "vercel" }),
  build,
};

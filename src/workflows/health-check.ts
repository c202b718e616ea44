import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  deployment_id: resourceId("Vercel deployment to check"),
  redis_id: resourceId("Upstash Redis database to check"),
  project_id: resourceId("Neon project to check"),
});

/** Every service of a deployed app read at once: deployment state, cache state, database reachability. */
export const healthCheck: WorkflowTemplate<typeof params> = {
  id: "health-check",
  name: "Health Check of Deployed Services",
  description: "Check a deployed app's services in parallel: the deployment's state, the Redis database's state, and that the Postgres database answers with a connection string",
  category: "operations",
  tags: ["health", "health check", "status", "monitoring", "uptime", "is it up"],
  examples: [
    "Check the health of my deployed services",
    "Is my app up? check the deployment, database and cache",
    "Status check of production: vercel, neon and upstash",
  ],
  params,
  plan: {
    name: "Health Check",
    steps: [
      { id: "deployment", agent: "deploy", tool: "toolkit.vercel_get_deployment", dependencies: [], params: { deployment_id: "${deployment_id}" }, estimate: ESTIMATES.vercelRead },
      { id: "cache", agent: "redis", tool: "toolkit.upstash_get_database", dependencies: [], params: { database_id: "${redis_id}" }, estimate: ESTIMATES.redisRead },
      { id: "database", agent: "db", tool: "toolkit.neon_get_connection_string", dependencies: [], params: { project_id: "${project_id}" }, estimate: ESTIMATES.neonRead },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { databaseName, resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_project_id: resourceId("Vercel project of the app"),
  neon_project_id: resourceId("Neon project of the app's database"),
  database_name: databaseName("neondb", "Database the app uses"),
  redis_id: resourceId("Upstash Redis database of the app"),
});

/**
 * After credentials change at the provider (a password reset, a rotated token): read the current
 * ones, write them into the app's environment, redeploy, and confirm the new deployment is ready.
 */
export const syncAppSecrets: WorkflowTemplate<typeof params> = {
  id: "sync-app-secrets",
  name: "Rotate App Secrets",
  description: "Secret rotation for a deployed app: read the current database and Redis credentials, update DATABASE_URL and REDIS_URL in the app's environment, redeploy and confirm the deployment",
  category: "operations",
  tags: ["secrets", "rotation", "rotate", "credentials", "env vars", "environment variables", "redeploy"],
  examples: [
    "Rotate the secrets of my app and redeploy",
    "Update DATABASE_URL and REDIS_URL on vercel with the current credentials",
    "Sync the app's environment variables with the new database password",
  ],
  params,
  plan: {
    name: "Rotate App Secrets",
    steps: [
      {
        id: "database",
        agent: "db",
        tool: "toolkit.neon_get_connection_string",
        dependencies: [],
        params: { project_id: "${neon_project_id}", database_name: "${database_name}" },
        estimate: ESTIMATES.neonRead,
      },
      { id: "cache", agent: "redis", tool: "toolkit.upstash_get_database", dependencies: [], params: { database_id: "${redis_id}" }, estimate: ESTIMATES.redisRead },
      {
        id: "set_env",
        agent: "deploy",
        tool: "toolkit.vercel_set_env",
        dependencies: ["database", "cache"],
        params: { project_id: "${app_project_id}", env: { DATABASE_URL: "${database.connection_string}", REDIS_URL: "${cache.url}" } },
        estimate: ESTIMATES.vercelEnv,
      },
      {
        id: "redeploy",
        agent: "deploy",
        tool: "toolkit.vercel_deploy",
        dependencies: ["set_env"],
        params: { project_id: "${app_project_id}" },
        timeoutMs: 300_000,
        estimate: ESTIMATES.vercelDeploy,
      },
      {
        id: "verify",
        agent: "deploy",
        tool: "toolkit.vercel_get_deployment",
        dependencies: ["redeploy"],
        params: { deployment_id: "${redeploy.deployment_id}" },
        estimate: ESTIMATES.vercelRead,
      },
    ],
  },
};

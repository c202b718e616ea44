import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { databaseName, deployProvider, flyImage, resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_project_id: resourceId("App to update: its Vercel project id, or its Fly.io app name"),
  neon_project_id: resourceId("Neon project of the app's database"),
  database_name: databaseName("neondb", "Database the app uses"),
  redis_id: resourceId("Upstash Redis database of the app"),
  provider: deployProvider,
  image: flyImage,
});

type Params = z.infer<typeof params>;

const ENV = { DATABASE_URL: "${database.connection_string}", REDIS_URL: "${cache.url}" };

/** Vercel: env vars, a new deployment, its state. Fly.io: the machines updated with the new secrets, the app's state. */
function appSteps(values: Pick<Params, "provider" | "image">): PlanInput["steps"] {
  if (values.provider === "fly") {
    // fly_deploy sets the secrets first and starts the machines only with that secrets version.
    return [
      {
        id: "redeploy",
        agent: "deploy",
        tool: "toolkit.fly_deploy",
        dependencies: ["database", "cache"],
        params: { app_name: "${app_project_id}", secrets: ENV, ...(values.image ? { image: "${image}" } : {}) },
        timeoutMs: 300_000,
        estimate: ESTIMATES.flyDeploy,
      },
      { id: "verify", agent: "deploy", tool: "toolkit.fly_get_app", dependencies: ["redeploy"], params: { app_name: "${redeploy.app_name}" }, estimate: ESTIMATES.flyRead },
    ];
  }
  return [
    { id: "set_env", agent: "deploy", tool: "toolkit.vercel_set_env", dependencies: ["database", "cache"], params: { project_id: "${app_project_id}", env: ENV }, estimate: ESTIMATES.vercelEnv },
    { id: "redeploy", agent: "deploy", tool: "toolkit.vercel_deploy", dependencies: ["set_env"], params: { project_id: "${app_project_id}" }, timeoutMs: 300_000, estimate: ESTIMATES.vercelDeploy },
    { id: "verify", agent: "deploy", tool: "toolkit.vercel_get_deployment", dependencies: ["redeploy"], params: { deployment_id: "${redeploy.deployment_id}" }, estimate: ESTIMATES.vercelRead },
  ];
}

/**
 * After credentials change at the provider (a password reset, a rotated token): read the current
 * ones, write them into the app's environment, redeploy, and confirm the new deployment is ready.
 */
function build(values: Pick<Params, "provider" | "image">): Omit<PlanInput, "params"> {
  return {
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
      ...appSteps(values),
    ],
  };
}

export const syncAppSecrets: WorkflowTemplate<typeof params> = {
  id: "sync-app-secrets",
  name: "Rotate App Secrets",
  description: "Secret rotation for a deployed app on Vercel or Fly.io: read the current database and Redis credentials, update DATABASE_URL and REDIS_URL in the app's environment, redeploy and confirm the deployment",
  category: "operations",
  tags: ["secrets", "rotation", "rotate", "credentials", "env vars", "environment variables", "redeploy"],
  examples: [
    "Rotate the secrets of my app and redeploy",
    "Update DATABASE_URL and REDIS_URL on vercel with the current credentials",
    "Sync the app's environment variables with the new database password",
  ],
  params,
  plan: build({ provider: "vercel" }),
  build,
};

import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { databaseName, flyImage, region, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_name: resourceName("rad-crawler", "App name: the code folder and the deployed project; the database project and the cache are named after it"),
  database_name: databaseName("crawler", "Database the crawler stores pages in"),
  region,
  provider: z.enum(["vercel", "fly"]).default("vercel").describe("Where the crawler is deployed: Vercel, or Fly.io (fly_create_app, fly_deploy)"),
  image: flyImage,
});

type Params = z.infer<typeof params>;

/**
 * The deploy pair for each provider. Step ids stay the same on both (`create_fly_app` is the
 * seed's name for the step), so reports and resumed runs read alike whichever one ran.
 */
function deploySteps(values: Pick<Params, "provider" | "image">): PlanInput["steps"] {
  const env = { DATABASE_URL: "${create_database.connection_string}", REDIS_URL: "${create_redis.url}" };
  if (values.provider === "fly") {
    return [
      { id: "create_fly_app", agent: "deploy", tool: "toolkit.fly_create_app", dependencies: ["generate_code", "create_database"], params: { app_name: "${app_name}" }, estimate: ESTIMATES.flyApp },
      {
        id: "deploy_app",
        agent: "deploy",
        tool: "toolkit.fly_deploy",
        dependencies: ["create_fly_app", "create_database", "create_redis"],
        params: { app_name: "${create_fly_app.app_name}", secrets: env, ...(values.image ? { image: "${image}" } : {}) },
        timeoutMs: 300_000,
        estimate: ESTIMATES.flyDeploy,
      },
    ];
  }
  return [
    { id: "create_fly_app", agent: "deploy", tool: "toolkit.vercel_create_project", dependencies: ["generate_code", "create_database"], params: { name: "${app_name}" }, estimate: ESTIMATES.vercelProject },
    {
      id: "deploy_app",
      agent: "deploy",
      tool: "toolkit.vercel_deploy",
      dependencies: ["create_fly_app", "create_database", "create_redis"],
      params: { project_id: "${create_fly_app.project_id}", env },
      timeoutMs: 300_000,
      estimate: ESTIMATES.vercelDeploy,
    },
  ];
}

/**
 * The seed's RAD Crawler DAG (Task 1.2) on the built-in servers: code, database and cache in
 * parallel, then the project and the deploy with DATABASE_URL and REDIS_URL.
 */
export const radCrawlerSetup: WorkflowTemplate<typeof params> = {
  id: "rad-crawler-setup",
  name: "RAD Crawler Complete Setup",
  description: "Set up RAD Crawler with a Neon Postgres database, Upstash Redis cache and a deployment: generates the crawler code, provisions the database and cache in parallel, then deploys it with DATABASE_URL and REDIS_URL",
  category: "infrastructure",
  tags: ["rad", "crawler", "scraper", "neon", "postgres", "upstash", "redis", "deploy", "fly", "full stack"],
  examples: [
    "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis",
    "Deploy the RAD crawler with a Postgres database and a Redis cache",
    "Build and deploy a web crawler backed by Neon and Upstash",
    "Provision everything the rad crawler needs: code, database, cache, deployment",
  ],
  params,
  plan: build({ provider: "vercel" }),
  build,
};

function build(values: Pick<Params, "provider" | "image">): Omit<PlanInput, "params"> {
  return {
    name: "RAD Crawler Complete Setup",
    description: "Set up RAD Crawler with Neon DB, a deployment, and Upstash Redis",
    steps: [
      {
        id: "generate_code",
        agent: "coding",
        tool: "workspace.delegate_code_generation",
        dependencies: [],
        params: {
          task: "Create RAD Crawler with Playwright, Neon DB client, Redis caching",
          context: `TypeScript, Neon PostgreSQL, Upstash Redis, ${values.provider === "fly" ? "Fly.io" : "Vercel"} deployment`,
          complexity: "complex",
          project: "${app_name}",
        },
        estimate: ESTIMATES.codegenComplex,
      },
      {
        id: "create_neon_project",
        agent: "db",
        tool: "toolkit.neon_create_project",
        dependencies: [],
        params: { name: "${app_name}-db" },
        estimate: ESTIMATES.neonProject,
      },
      {
        id: "create_redis",
        agent: "redis",
        tool: "toolkit.upstash_create_database",
        dependencies: [],
        params: { database_name: "${app_name}-cache", primary_region: "${region}" },
        estimate: ESTIMATES.redisCreate,
      },
      {
        id: "create_database",
        agent: "db",
        tool: "toolkit.neon_create_database",
        dependencies: ["create_neon_project"],
        params: { project_id: "${create_neon_project.project_id}", database_name: "${database_name}" },
        estimate: ESTIMATES.neonDatabase,
      },
      ...deploySteps(values),
    ],
  };
}

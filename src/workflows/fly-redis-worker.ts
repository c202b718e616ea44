import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { flyImage, region, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_name: resourceName("queue-worker", "Fly app name of the worker (also the code folder); the queue is named after it"),
  region,
  image: flyImage,
});

type Params = z.infer<typeof params>;

/** The queue, the app and the code in parallel; then the worker starts with REDIS_URL (from `image`, when given). */
function build(values: Pick<Params, "image">): Omit<PlanInput, "params"> {
  return {
    name: "Fly.io Worker with Redis Queue",
    steps: [
      {
        id: "generate_code",
        agent: "coding",
        tool: "workspace.delegate_code_generation",
        dependencies: [],
        params: { task: "Create a background job worker that consumes a Redis queue", context: "Node.js, Upstash Redis, Fly.io", complexity: "simple", project: "${app_name}" },
        estimate: ESTIMATES.codegenSimple,
      },
      {
        id: "create_queue",
        agent: "redis",
        tool: "toolkit.upstash_create_database",
        dependencies: [],
        params: { database_name: "${app_name}-queue", primary_region: "${region}" },
        estimate: ESTIMATES.redisCreate,
      },
      { id: "create_app", agent: "deploy", tool: "toolkit.fly_create_app", dependencies: [], params: { app_name: "${app_name}" }, estimate: ESTIMATES.flyApp },
      {
        id: "deploy",
        agent: "deploy",
        tool: "toolkit.fly_deploy",
        dependencies: ["generate_code", "create_queue", "create_app"],
        params: {
          app_name: "${create_app.app_name}",
          secrets: { REDIS_URL: "${create_queue.url}", SERVICE_NAME: "${app_name}" },
          ...(values.image ? { image: "${image}" } : {}),
        },
        timeoutMs: 300_000,
        estimate: ESTIMATES.flyDeploy,
      },
    ],
  };
}

/** A Redis queue and a worker on Fly.io that gets its URL as a secret. */
export const flyRedisWorker: WorkflowTemplate<typeof params> = {
  id: "fly-redis-worker",
  name: "Fly.io Worker with Redis Queue",
  description: "Run a background worker on Fly.io with an Upstash Redis job queue: the queue, the app and the code in parallel, then a deploy with REDIS_URL as a secret",
  category: "infrastructure",
  tags: ["worker", "background jobs", "queue", "fly", "redis", "upstash", "jobs"],
  examples: [
    "Deploy a background worker on Fly with a Redis queue",
    "Set up a job queue worker: upstash redis plus a fly app",
    "I need a queue consumer running on fly.io backed by redis",
  ],
  params,
  plan: build({}),
  build,
};

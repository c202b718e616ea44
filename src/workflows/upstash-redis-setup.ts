import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { region, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  database_name: resourceName("app-cache", "Redis database name"),
  region,
});

/** Task 1.4: a Redis database, read back to confirm it is active and to return its URL. */
export const upstashRedisSetup: WorkflowTemplate<typeof params> = {
  id: "upstash-redis-setup",
  name: "Upstash Redis Setup",
  description: "Create an Upstash Redis database in a region and read it back to confirm it is active, with its redis:// URL for any Redis client",
  category: "infrastructure",
  tags: ["upstash", "redis", "redis instance", "cache", "key value", "kv store"],
  examples: [
    "Set up an Upstash Redis database",
    "I need a Redis instance in us-east-1 for caching",
    "Create a serverless redis on upstash for caching",
    "Provision a key-value store with Upstash",
  ],
  params,
  plan: {
    name: "Upstash Redis Setup",
    steps: [
      {
        id: "create_redis",
        agent: "redis",
        tool: "toolkit.upstash_create_database",
        dependencies: [],
        params: { database_name: "${database_name}", primary_region: "${region}" },
        estimate: ESTIMATES.redisCreate,
      },
      {
        id: "verify_redis",
        agent: "redis",
        tool: "toolkit.upstash_get_database",
        dependencies: ["create_redis"],
        params: { database_id: "${create_redis.database_id}" },
        estimate: ESTIMATES.redisRead,
      },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { region, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_name: resourceName("app", "App name; the databases are <app_name>-cache, -sessions and -queue"),
  region,
});

const roles = ["cache", "sessions", "queue"] as const;

/** Separate Redis databases for caching, sessions and a job queue, created in parallel. */
export const redisCacheSuite: WorkflowTemplate<typeof params> = {
  id: "redis-cache-suite",
  name: "Redis for Cache, Sessions and Queue",
  description: "Create three separate Upstash Redis databases in parallel — page cache, user sessions and a job queue — so that evictions and load in one never touch the others",
  category: "infrastructure",
  tags: ["sessions", "session store", "queue", "cache", "redis", "upstash", "separate"],
  examples: [
    "Create separate Redis databases for cache, sessions and the job queue",
    "I need a session store, a cache and a queue on upstash",
    "Provision redis for sessions and background jobs",
  ],
  params,
  plan: {
    name: "Redis for Cache, Sessions and Queue",
    steps: roles.map((role) => ({
      id: `create_${role}`,
      agent: "redis",
      tool: "toolkit.upstash_create_database",
      dependencies: [],
      params: { database_name: `\${app_name}-${role}`, primary_region: "${region}" },
      estimate: ESTIMATES.redisCreate,
    })),
  },
};

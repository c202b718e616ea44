import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { region, resourceId, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_name: resourceName("web-app", "App name; the preview project is <app_name>-<branch>"),
  branch: resourceName("feature", "Git branch the preview is for (lowercase, '-')"),
  project_id: resourceId("Neon project of the app; the preview gets a branch of its database"),
  region,
});

/**
 * A preview environment for one git branch: a Neon branch (a copy of the app's data), its own
 * cache and its own project, deployed with both URLs. Tear it down with preview-teardown.
 */
export const previewEnvironment: WorkflowTemplate<typeof params> = {
  id: "preview-environment",
  name: "Preview Environment per Branch",
  description: "Spin up a preview environment for a git branch: a Neon database branch with a copy of the data, a Redis cache and a preview deployment (of the workspace folder <app_name>-<branch>) wired to both",
  category: "infrastructure",
  tags: ["preview", "preview environment", "branch", "feature branch", "ephemeral", "review app", "staging"],
  examples: [
    "Create a preview environment for branch feature-login",
    "Spin up an ephemeral review app for my feature branch with its own database copy",
    "Preview deployment per branch with a neon branch and a cache",
  ],
  params,
  plan: {
    name: "Preview Environment",
    steps: [
      {
        id: "database_branch",
        agent: "db",
        tool: "toolkit.neon_create_branch",
        dependencies: [],
        params: { project_id: "${project_id}", name: "preview-${branch}" },
        estimate: ESTIMATES.neonBranch,
      },
      {
        id: "create_cache",
        agent: "redis",
        tool: "toolkit.upstash_create_database",
        dependencies: [],
        params: { database_name: "${app_name}-${branch}-cache", primary_region: "${region}" },
        estimate: ESTIMATES.redisCreate,
      },
      { id: "create_project", agent: "deploy", tool: "toolkit.vercel_create_project", dependencies: [], params: { name: "${app_name}-${branch}" }, estimate: ESTIMATES.vercelProject },
      {
        id: "deploy_preview",
        agent: "deploy",
        tool: "toolkit.vercel_deploy",
        dependencies: ["database_branch", "create_cache", "create_project"],
        params: {
          project_id: "${create_project.project_id}",
          target: "preview",
          env: { DATABASE_URL: "${database_branch.connection_string}", REDIS_URL: "${create_cache.url}" },
        },
        timeoutMs: 300_000,
        estimate: ESTIMATES.vercelDeploy,
      },
    ],
  },
};

import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_id: resourceId("Neon project the preview branched from"),
  branch_id: resourceId("Neon branch of the preview"),
  redis_id: resourceId("Upstash Redis database of the preview"),
  app_project_id: resourceId("Vercel project of the preview"),
});

/** Removes what preview-environment made, in parallel. */
export const previewTeardown: WorkflowTemplate<typeof params> = {
  id: "preview-teardown",
  name: "Tear Down a Preview Environment",
  description: "Delete a branch's preview environment once its pull request is merged or closed: the preview deployment's project, its Redis cache and its Neon database branch, in parallel",
  category: "operations",
  tags: ["teardown", "cleanup", "preview", "merged", "delete preview", "ephemeral"],
  examples: [
    "Tear down the preview environment of a merged branch",
    "Clean up the preview deployment, its cache and its database branch",
    "Delete the review app for my closed pull request",
  ],
  params,
  plan: {
    name: "Tear Down a Preview Environment",
    steps: [
      { id: "delete_project", agent: "deploy", tool: "toolkit.vercel_delete_project", dependencies: [], params: { project_id: "${app_project_id}" }, estimate: ESTIMATES.vercelDelete },
      { id: "delete_cache", agent: "redis", tool: "toolkit.upstash_delete_database", dependencies: [], params: { database_id: "${redis_id}" }, estimate: ESTIMATES.redisDelete },
      { id: "delete_branch", agent: "db", tool: "toolkit.neon_delete_branch", dependencies: [], params: { project_id: "${project_id}", branch_id: "${branch_id}" }, estimate: ESTIMATES.neonDelete },
    ],
  },
};

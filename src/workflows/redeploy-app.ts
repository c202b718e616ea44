import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_id: resourceId("Vercel project to redeploy"),
  target: z.enum(["production", "preview"]).default("production").describe("Deployment target"),
});

export const redeployApp: WorkflowTemplate<typeof params> = {
  id: "redeploy-app",
  name: "Redeploy an App",
  description: "Redeploy an existing Vercel project from its current code and environment (a restart after a crash or a config change), then confirm the new deployment is READY",
  category: "operations",
  tags: ["redeploy", "restart", "bounce", "roll out", "deployment", "recover"],
  examples: [
    "Redeploy my app",
    "Restart the production deployment",
    "Roll out the latest code again on vercel",
  ],
  params,
  plan: {
    name: "Redeploy an App",
    steps: [
      { id: "deploy", agent: "deploy", tool: "toolkit.vercel_deploy", dependencies: [], params: { project_id: "${project_id}", target: "${target}" }, timeoutMs: 300_000, estimate: ESTIMATES.vercelDeploy },
      { id: "verify", agent: "deploy", tool: "toolkit.vercel_get_deployment", dependencies: ["deploy"], params: { deployment_id: "${deploy.deployment_id}" }, estimate: ESTIMATES.vercelRead },
    ],
  },
};

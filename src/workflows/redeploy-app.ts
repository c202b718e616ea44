import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { deployProvider, flyImage, resourceId } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_id: resourceId("App to redeploy: its Vercel project id, or its Fly.io app name"),
  provider: deployProvider,
  target: z.enum(["production", "preview"]).default("production").describe("Deployment target (Vercel)"),
  image: flyImage,
});

type Params = z.infer<typeof params>;

/** Vercel: a new deployment, then its state; Fly.io: the app's machines updated in place, then the app's state. */
function build(values: Pick<Params, "provider" | "image">): Omit<PlanInput, "params"> {
  if (values.provider === "fly") {
    return {
      name: "Redeploy an App",
      steps: [
        {
          id: "deploy",
          agent: "deploy",
          tool: "toolkit.fly_deploy",
          dependencies: [],
          params: { app_name: "${project_id}", ...(values.image ? { image: "${image}" } : {}) },
          timeoutMs: 300_000,
          estimate: ESTIMATES.flyDeploy,
        },
        { id: "verify", agent: "deploy", tool: "toolkit.fly_get_app", dependencies: ["deploy"], params: { app_name: "${deploy.app_name}" }, estimate: ESTIMATES.flyRead },
      ],
    };
  }
  return {
    name: "Redeploy an App",
    steps: [
      { id: "deploy", agent: "deploy", tool: "toolkit.vercel_deploy", dependencies: [], params: { project_id: "${project_id}", target: "${target}" }, timeoutMs: 300_000, estimate: ESTIMATES.vercelDeploy },
      { id: "verify", agent: "deploy", tool: "toolkit.vercel_get_deployment", dependencies: ["deploy"], params: { deployment_id: "${deploy.deployment_id}" }, estimate: ESTIMATES.vercelRead },
    ],
  };
}

export const redeployApp: WorkflowTemplate<typeof params> = {
  id: "redeploy-app",
  name: "Redeploy an App",
  description: "Redeploy an existing app on Vercel or Fly.io from its current code and environment (a restart after a crash or a config change), then confirm it is running",
  category: "operations",
  tags: ["redeploy", "restart", "bounce", "roll out", "deployment", "recover"],
  examples: [
    "Redeploy my app",
    "Restart the production deployment",
    "Roll out the latest code again on vercel",
  ],
  params,
  plan: build({ provider: "vercel" }),
  build,
};

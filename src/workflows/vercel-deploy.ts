import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_name: resourceName("web-app", "Vercel project name (also the code folder)"),
  task: z.string().min(1).default("Create a small Node.js HTTP service with a health endpoint").describe("What the app does (for code generation)"),
  target: z.enum(["production", "preview"]).default("production").describe("Deployment target"),
});

/** Task 1.4: generate the app, create the project and set its env in parallel, deploy, read the deployment back. */
export const vercelDeploy: WorkflowTemplate<typeof params> = {
  id: "vercel-deploy",
  name: "Vercel Deploy",
  description: "Generate a web app, create a Vercel project, set its environment variables, deploy it and confirm the deployment is READY",
  category: "infrastructure",
  tags: ["vercel", "deploy", "hosting", "web app", "frontend", "production"],
  examples: [
    "Deploy my web app to Vercel",
    "Create a Vercel project and ship it to production",
    "Host a new Node service on vercel",
    "Generate an app and put it live on Vercel",
  ],
  params,
  plan: {
    name: "Vercel Deploy",
    steps: [
      {
        id: "generate_code",
        agent: "coding",
        tool: "workspace.delegate_code_generation",
        dependencies: [],
        params: { task: "${task}", context: "Node.js, deployed on Vercel", complexity: "simple", project: "${project_name}" },
        estimate: ESTIMATES.codegenSimple,
      },
      { id: "create_project", agent: "deploy", tool: "toolkit.vercel_create_project", dependencies: [], params: { name: "${project_name}" }, estimate: ESTIMATES.vercelProject },
      {
        id: "set_env",
        agent: "deploy",
        tool: "toolkit.vercel_set_env",
        dependencies: ["create_project"],
        params: { project_id: "${create_project.project_id}", env: { SERVICE_NAME: "${project_name}", NODE_ENV: "production" } },
        estimate: ESTIMATES.vercelEnv,
      },
      {
        id: "deploy",
        agent: "deploy",
        tool: "toolkit.vercel_deploy",
        dependencies: ["generate_code", "set_env", "create_project"],
        params: { project_id: "${create_project.project_id}", target: "${target}" },
        timeoutMs: 300_000,
        estimate: ESTIMATES.vercelDeploy,
      },
      {
        id: "verify_deployment",
        agent: "deploy",
        tool: "toolkit.vercel_get_deployment",
        dependencies: ["deploy"],
        params: { deployment_id: "${deploy.deployment_id}" },
        estimate: ESTIMATES.vercelRead,
      },
    ],
  },
};

import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { flyImage, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  app_name: resourceName("api-service", "Fly app name (also the code folder)"),
  task: z.string().min(1).default("Create a small Node.js HTTP API with a health endpoint").describe("What the service does (for code generation)"),
  region: z.string().min(1).default("iad").describe("Fly region of the machine"),
  image: flyImage,
});

type Params = z.infer<typeof params>;

/** Generate a service, create the Fly app and set its secrets, then start a machine (of `image`, when given). */
function build(values: Pick<Params, "image">): Omit<PlanInput, "params"> {
  return {
    name: "Fly.io Deploy",
    steps: [
      {
        id: "generate_code",
        agent: "coding",
        tool: "workspace.delegate_code_generation",
        dependencies: [],
        params: { task: "${task}", context: "Node.js, deployed on Fly.io", complexity: "simple", project: "${app_name}" },
        estimate: ESTIMATES.codegenSimple,
      },
      { id: "create_app", agent: "deploy", tool: "toolkit.fly_create_app", dependencies: [], params: { app_name: "${app_name}" }, estimate: ESTIMATES.flyApp },
      {
        id: "set_secrets",
        agent: "deploy",
        tool: "toolkit.fly_set_secrets",
        dependencies: ["create_app"],
        params: { app_name: "${create_app.app_name}", secrets: { SERVICE_NAME: "${app_name}" } },
        estimate: ESTIMATES.flySecrets,
      },
      {
        id: "deploy",
        agent: "deploy",
        tool: "toolkit.fly_deploy",
        dependencies: ["generate_code", "set_secrets", "create_app"],
        params: { app_name: "${create_app.app_name}", region: "${region}", ...(values.image ? { image: "${image}" } : {}) },
        timeoutMs: 300_000,
        estimate: ESTIMATES.flyDeploy,
      },
    ],
  };
}

export const flyDeploy: WorkflowTemplate<typeof params> = {
  id: "fly-deploy",
  name: "Fly.io Deploy",
  description: "Generate a service, create a Fly.io app, set its secrets and deploy a machine that answers its health check",
  category: "infrastructure",
  tags: ["fly", "flyio", "deploy", "machine", "container", "api", "backend"],
  examples: [
    "Deploy an API to Fly.io",
    "Create a fly app and ship my backend service on it",
    "Run a new container service on fly machines",
  ],
  params,
  plan: build({}),
  build,
};

import { z } from "zod";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { RunContext } from "../../src/engine/run-step.ts";
import type { WorkflowLibrary } from "../../src/planner/index.ts";
import type { PlanInput } from "../../src/plan/schema.ts";
import type { WorkflowTemplate } from "../../src/workflows/types.ts";
import type { OrchestratorDeps } from "../../agents/deps.ts";
import { loadConfig } from "../../src/config.ts";
import type { FakeCaller } from "../helpers/fake-caller.ts";

/** Templates over the fake `infra` server (create / delete / noop). */
export const TEMPLATES: WorkflowTemplate[] = [
  {
    id: "app-stack",
    name: "App stack",
    description: "Create a database and a cache, then deploy the app",
    category: "infrastructure",
    tags: ["database", "cache", "deploy"],
    examples: ["Set up my app with a database, a cache and a deployment"],
    params: z.object({ name: z.string().default("app"), region: z.string().default("us-east-1") }),
    plan: {
      name: "App stack",
      steps: [
        { id: "db", tool: "infra.create", dependencies: [], params: { name: "${name}-db", value: "${region}" }, estimate: { ms: 100, usd: 0.01 } },
        { id: "cache", tool: "infra.create", dependencies: [], params: { name: "${name}-cache" }, estimate: { ms: 100, usd: 0.01 } },
        { id: "deploy", tool: "infra.noop", dependencies: ["db", "cache"], params: { name: "${name}" }, estimate: { ms: 50 } },
      ],
    },
  },
  {
    id: "teardown",
    name: "Tear down",
    description: "Delete a resource",
    category: "operations",
    tags: ["delete", "teardown", "destroy"],
    examples: ["Delete the resource called x", "tear down everything"],
    params: z.object({ resource_name: z.string().default("id-x") }),
    plan: { name: "Tear down", steps: [{ id: "remove", tool: "infra.delete", dependencies: [], params: { id: "${resource_name}" } }] },
  },
  {
    id: "lint",
    name: "Lint the code",
    description: "Run the linter over the repository",
    category: "code-quality",
    tags: ["lint", "quality"],
    examples: ["lint my code"],
    params: z.object({}),
    plan: { name: "Lint", steps: [{ id: "lint", tool: "infra.noop", dependencies: [], params: { name: "lint" } }] },
  },
];

/** `${param}` → value, everywhere in the plan; declared parameters become the plan's defaults. */
export function instantiate(template: WorkflowTemplate, values: Record<string, unknown>): PlanInput {
  const text = JSON.stringify(template.plan).replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) =>
    name in values ? String(values[name]).replace(/["\\]/g, "\\$&") : whole,
  );
  return JSON.parse(text) as PlanInput;
}

export const library: WorkflowLibrary = { workflows: TEMPLATES, instantiate };

/** Orchestrator deps over a fake caller, config from an empty environment (no model unless given). */
export function testDeps(caller: FakeCaller, overrides: Partial<OrchestratorDeps> = {}, env: Record<string, string> = {}): OrchestratorDeps {
  const ctx: RunContext = { caller, limits: new ServerLimits(8) };
  return {
    config: loadConfig({ CREDIT_OPTIMIZER_HOME: "/tmp/co-graph-tests", ...env }),
    library: async () => library,
    context: async () => ctx,
    ...overrides,
  };
}

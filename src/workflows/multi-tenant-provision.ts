import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { region, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const tenantName = z.string().regex(/^[a-z][a-z0-9]{0,19}$/, "expected a tenant name: lowercase letters and digits, starting with a letter (at most 20)");

const params = z.object({
  name: resourceName("saas", "Platform name: the Neon project and the caches are named after it"),
  tenants: z
    .union([z.number().int().min(1).max(20), z.array(tenantName).min(1).max(20).refine((list) => new Set(list).size === list.length, "tenant names must be distinct")])
    .default(3)
    .describe("How many tenants (t1…tN), or their names as a JSON list"),
  region,
});

type Params = z.infer<typeof params>;

/** Tenant names: the given list, or t1…tN. */
export function tenantNames(tenants: Params["tenants"]): string[] {
  return typeof tenants === "number" ? Array.from({ length: tenants }, (_, i) => `t${i + 1}`) : tenants;
}

/** One Neon project; per tenant a database in it and a Redis database, all in parallel. */
function build(values: Params): Omit<PlanInput, "params"> {
  const names = tenantNames(values.tenants);
  return {
    name: `Multi-tenant provisioning (${names.length} tenants)`,
    steps: [
      { id: "create_project", agent: "db", tool: "toolkit.neon_create_project", dependencies: [], params: { name: "${name}-tenants" }, estimate: ESTIMATES.neonProject },
      ...names.flatMap((tenant) => [
        {
          id: `database_${tenant}`,
          agent: "db",
          tool: "toolkit.neon_create_database",
          dependencies: ["create_project"],
          params: { project_id: "${create_project.project_id}", database_name: `tenant_${tenant}` },
          estimate: ESTIMATES.neonDatabase,
        },
        {
          id: `cache_${tenant}`,
          agent: "redis",
          tool: "toolkit.upstash_create_database",
          dependencies: [],
          params: { database_name: `\${name}-${tenant}-cache`, primary_region: "${region}" },
          estimate: ESTIMATES.redisCreate,
        },
      ]),
    ],
  };
}

/** Task 1.4: N tenants, each with its own database and cache, provisioned in parallel. */
export const multiTenantProvision: WorkflowTemplate<typeof params> = {
  id: "multi-tenant-provision",
  name: "Multi-tenant Provisioning",
  description: "Provision N tenants in parallel, each with its own Postgres database (in one Neon project) and its own Upstash Redis cache",
  category: "infrastructure",
  tags: ["multi-tenant", "tenants", "saas", "customers", "per tenant", "isolation", "separate", "onboarding"],
  examples: [
    "Provision 5 tenants, each with its own database and cache",
    "Set up multi-tenant infrastructure: a database and a redis per customer",
    "Onboard new SaaS customers with isolated databases and caches",
    "Create per-tenant Postgres databases and Redis caches in parallel",
  ],
  params,
  plan: build(params.parse({})),
  build,
};

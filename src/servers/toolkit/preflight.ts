import { gitStatus, type PreflightFinding, type ServiceStatus } from "../preflight.ts";
import { postgresStatus, redisStatus } from "./providers/local/availability.ts";
import type { ToolkitEnv, ToolkitTool } from "./tool.ts";

type Category = ToolkitTool["category"];

/**
 * Whether each provider the given tools belong to can serve, asked per provider in parallel:
 * a cloud provider needs its token (the tools pick the cloud backend only when it is set, so a set
 * token is enough here: the API itself is not called), the local one its service.
 */
const checks: Record<Category, (env: ToolkitEnv) => Promise<ServiceStatus>> = {
  neon: (env) => postgresStatus(env),
  upstash: (env) => redisStatus(env),
  // Local deploys run the app with this Node; nothing else to have.
  vercel: async () => ({ ok: true, kind: "local", detail: "local deploys" }),
  fly: async () => ({ ok: true, kind: "local", detail: "local deploys" }),
  github: async (env) => (env.github ? { ok: true, kind: "cloud", detail: "GitHub API" } : withFix(await gitStatus(env), "or set GITHUB_TOKEN to use GitHub")),
};

function withFix(status: ServiceStatus, more: string): ServiceStatus {
  return status.ok ? status : { ...status, fix: `${status.fix}, ${more}` };
}

/** The problems that stop any of `names` (toolkit tool names; unknown ones are left to validation). */
export async function toolkitPreflight(env: ToolkitEnv, names: readonly string[], tools: readonly ToolkitTool[]): Promise<PreflightFinding[]> {
  const byCategory = new Map<Category, string[]>();
  for (const name of new Set(names)) {
    const tool = tools.find((t) => t.name === name);
    if (tool) byCategory.set(tool.category, [...(byCategory.get(tool.category) ?? []), name]);
  }
  const results = await Promise.all(
    [...byCategory].map(async ([category, asked]): Promise<PreflightFinding | undefined> => {
      const status = await checks[category](env);
      return status.ok ? undefined : { tools: asked, problem: status.detail, fix: status.fix ?? "" };
    }),
  );
  return results.filter((r): r is PreflightFinding => r !== undefined);
}

import { randomBytes } from "node:crypto";
import { flyTools } from "./providers/fly.ts";
import { githubTools } from "./providers/github.ts";
import { neonTools } from "./providers/neon.ts";
import { upstashTools } from "./providers/upstash.ts";
import { vercelTools } from "./providers/vercel.ts";
import type { ToolkitEnv, ToolkitTool } from "./tool.ts";

/*
 * The live smoke test: with the user's own token, create one small resource on a provider, read
 * it back, and delete it, so an account can be checked before a plan is trusted with it. Never
 * part of `npm test`; `npm run smoke -- --provider neon` runs it.
 */

export const SMOKE_PROVIDERS = ["neon", "upstash", "vercel", "fly", "github"] as const;
export type SmokeProvider = (typeof SMOKE_PROVIDERS)[number];

export interface SmokeResult {
  provider: SmokeProvider;
  status: "passed" | "failed" | "skipped";
  /** What was done, one line per step; never secrets. */
  steps: string[];
  /** Set when a created resource could not be deleted: what to remove by hand. */
  leftover?: string;
  error?: string;
}

const TOKEN_VARS: Record<SmokeProvider, string> = {
  neon: "NEON_API_KEY",
  upstash: "UPSTASH_EMAIL and UPSTASH_API_KEY",
  vercel: "VERCEL_TOKEN",
  fly: "FLY_API_TOKEN",
  github: "GITHUB_TOKEN (with the delete_repo scope)",
};

/** Parses `--provider NAME` (repeatable, or `all`). */
export function parseSmokeArgs(argv: readonly string[]): SmokeProvider[] {
  const chosen: SmokeProvider[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const value = arg === "--provider" ? argv[++i] : arg.startsWith("--provider=") ? arg.slice("--provider=".length) : undefined;
    if (value === undefined) throw new Error(`unknown argument "${arg}" (usage: smoke --provider ${SMOKE_PROVIDERS.join("|")}|all)`);
    if (value === "all") chosen.push(...SMOKE_PROVIDERS);
    else if ((SMOKE_PROVIDERS as readonly string[]).includes(value)) chosen.push(value as SmokeProvider);
    else throw new Error(`--provider: expected one of ${SMOKE_PROVIDERS.join(", ")} or all, got "${value}"`);
  }
  if (chosen.length === 0) throw new Error(`--provider is required (one of ${SMOKE_PROVIDERS.join(", ")}, or all)`);
  return [...new Set(chosen)];
}

function find(tools: readonly ToolkitTool[], name: string): ToolkitTool {
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool ${name}`);
  return tool;
}

async function call(tools: readonly ToolkitTool[], name: string, input: Record<string, unknown>, env: ToolkitEnv): Promise<Record<string, unknown>> {
  const tool = find(tools, name);
  return tool.run(tool.input.parse(input), env);
}

/** Creates, reads and deletes one small resource; the delete runs whatever happened before it. */
export async function smoke(provider: SmokeProvider, env: ToolkitEnv, suffix = randomBytes(3).toString("hex")): Promise<SmokeResult> {
  const configured = { neon: env.neon, upstash: env.upstash, vercel: env.vercel, fly: env.fly, github: env.github }[provider];
  if (!configured) return { provider, status: "skipped", steps: [`skipped: set ${TOKEN_VARS[provider]} to check this account`] };
  const name = `co-smoke-${suffix}`;
  const steps: string[] = [];
  let undo: (() => Promise<unknown>) | undefined;
  let leftoverName = "";
  try {
    switch (provider) {
      case "neon": {
        const project = await call(neonTools, "neon_create_project", { name }, env);
        leftoverName = `Neon project ${String(project.project_id)} (${name})`;
        undo = () => call(neonTools, "neon_delete_project", { project_id: project.project_id }, env);
        steps.push(`created project ${String(project.project_id)}${project.created === false ? " (it already existed)" : ""}`);
        const conn = await call(neonTools, "neon_get_connection_string", { project_id: project.project_id }, env);
        steps.push(`read its connection string for database ${String(conn.database_name)} on ${String(conn.host)}`);
        break;
      }
      case "upstash": {
        const db = await call(upstashTools, "upstash_create_database", { database_name: name }, env);
        leftoverName = `Upstash database ${String(db.database_id)} (${name})`;
        undo = () => call(upstashTools, "upstash_delete_database", { database_id: db.database_id }, env);
        steps.push(`created database ${String(db.database_id)} in ${String(db.primary_region)}`);
        const got = await call(upstashTools, "upstash_get_database", { database_id: db.database_id }, env);
        steps.push(`read it back: state ${String(got.state)}, endpoint ${String(got.endpoint)}`);
        break;
      }
      case "vercel": {
        const project = await call(vercelTools, "vercel_create_project", { name }, env);
        leftoverName = `Vercel project ${String(project.project_id)} (${name})`;
        undo = () => call(vercelTools, "vercel_delete_project", { project_id: project.project_id }, env);
        steps.push(`created project ${String(project.project_id)}`);
        await call(vercelTools, "vercel_set_env", { project_id: project.project_id, env: { CO_SMOKE: "1" }, target: ["development"] }, env);
        steps.push("set one environment variable on it");
        break;
      }
      case "fly": {
        const app = await call(flyTools, "fly_create_app", { app_name: name }, env);
        leftoverName = `Fly app ${name}`;
        undo = () => call(flyTools, "fly_delete_app", { app_name: name }, env);
        steps.push(`created app ${String(app.app_name)}`);
        const secrets = await call(flyTools, "fly_set_secrets", { app_name: name, secrets: { CO_SMOKE: "1" } }, env);
        steps.push(`set one secret on it (version ${String(secrets.version)})`);
        break;
      }
      case "github": {
        const repo = await call(githubTools, "github_create_repo", { name, private: true, auto_init: true }, env);
        leftoverName = `GitHub repository ${String(repo.full_name)}`;
        undo = () => call(githubTools, "github_delete_repo", { owner: repo.owner, name }, env);
        steps.push(`created private repository ${String(repo.full_name)} (default branch ${String(repo.default_branch)})`);
        break;
      }
    }
  } catch (error) {
    const cleanup = await runUndo(undo, steps);
    return { provider, status: "failed", steps, error: message(error), ...(cleanup ? { leftover: `${leftoverName}: ${cleanup}` } : {}) };
  }
  const cleanup = await runUndo(undo, steps);
  if (cleanup) return { provider, status: "failed", steps, error: cleanup, leftover: `${leftoverName}: ${cleanup}` };
  return { provider, status: "passed", steps };
}

async function runUndo(undo: (() => Promise<unknown>) | undefined, steps: string[]): Promise<string | undefined> {
  if (!undo) return undefined;
  try {
    await undo();
    steps.push("deleted it again");
    return undefined;
  } catch (error) {
    return `delete failed: ${message(error)}`;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One result as the lines `npm run smoke` prints. */
export function formatSmoke(result: SmokeResult): string {
  const lines = [`${result.provider}: ${result.status}`, ...result.steps.map((s) => `  - ${s}`)];
  if (result.error) lines.push(`  error: ${result.error}`);
  if (result.leftover) lines.push(`  LEFT BEHIND, remove it by hand: ${result.leftover}`);
  return lines.join("\n");
}

import { issueTexts } from "./zod-issues.ts";
import path from "node:path";
import { z } from "zod";

/**
 * The one place that reads process.env. Everything else takes options.
 */
const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const number = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: "custom", message: `expected a non-negative number, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const EnvSchema = z.object({
  CREDIT_OPTIMIZER_HOME: optional,
  // The viewer's token when it listens on a non-loopback address (`ui --host`).
  CREDIT_OPTIMIZER_UI_TOKEN: optional,
  DATABASE_URL: optional,
  // A BullMQ queue on Redis (redis://HOST:PORT[/DB][?queue=NAME]): `run` and `resume` submit to it, workers take from it.
  CREDIT_OPTIMIZER_QUEUE: optional,
  OPENAI_API_KEY: optional,
  OPENAI_BASE_URL: optional,
  CREDIT_OPTIMIZER_MODEL: optional,
  // How the architect asks for structured output: functionCalling (default), jsonMode (servers without tools), jsonSchema.
  CREDIT_OPTIMIZER_STRUCTURED_OUTPUT: z.enum(["functionCalling", "jsonMode", "jsonSchema"]).optional(),
  // Replans the architect may make after a step fails, before the run rolls back (0 turns it off).
  CREDIT_OPTIMIZER_MAX_REPLANS: number(1),
  CREDIT_OPTIMIZER_MCP_CONFIG: optional,
  CREDIT_OPTIMIZER_WORKSPACE: optional,
  CREDIT_OPTIMIZER_SECRET_KEY: optional,
  // "1": bin/credit-optimizer.js runs the TypeScript sources even when dist/ is current (it reads this
  // itself, before anything loads); listed so the built-in servers inherit the CLI's choice.
  CREDIT_OPTIMIZER_FROM_SOURCES: optional,
  // Set by bin/credit-optimizer.js for the built-in servers it starts: the build it found current.
  CREDIT_OPTIMIZER_BUILD_CHECKED: optional,
  // Default session of a thinking-tools instance (one instance per agent).
  AGENT_ID: optional,
  CREDIT_OPTIMIZER_DAILY_CAP_USD: number(10),
  CREDIT_OPTIMIZER_MONTHLY_CAP_USD: number(200),
  CREDIT_OPTIMIZER_APPROVAL_USD: number(0.5),
  // Cost config file (pricing and model routing sections); default <home>/config.json when present.
  CREDIT_OPTIMIZER_CONFIG_FILE: optional,
  LOCAL_POSTGRES_URL: optional,
  LOCAL_REDIS_URL: optional,
  // Where to look for Redis when LOCAL_REDIS_URL is unset (default redis://127.0.0.1:6379); tests point it at a closed port.
  LOCAL_REDIS_DEFAULT_URL: optional,
  // Where redis-server, git and chromium are looked up (preflight, doctor, the private Redis).
  PATH: optional,
  LANGSMITH_TRACING: optional,
  LANGSMITH_API_KEY: optional,
  LANGSMITH_ENDPOINT: optional,
  LANGSMITH_PROJECT: optional,
  NEON_API_KEY: optional,
  NEON_API_URL: optional,
  // Neon organization for projects (org-…); without it the account's only organization is used when Neon asks for one.
  NEON_ORG_ID: optional,
  UPSTASH_EMAIL: optional,
  UPSTASH_API_KEY: optional,
  UPSTASH_API_URL: optional,
  VERCEL_TOKEN: optional,
  VERCEL_TEAM_ID: optional,
  VERCEL_API_URL: optional,
  FLY_API_TOKEN: optional,
  FLY_ORG: optional,
  FLY_API_URL: optional,
  GITHUB_TOKEN: optional,
  GITHUB_OWNER: optional,
  GITHUB_API_URL: optional,
});

export type Env = z.infer<typeof EnvSchema>;

export interface AppConfig {
  /** State directory: checkpoints, ledger, process registry, keys. */
  home: string;
  databaseUrl?: string;
  /** The run queue (CREDIT_OPTIMIZER_QUEUE): runs go to workers instead of running here. */
  queueUrl?: string;
  model?: { apiKey?: string; baseUrl?: string; name: string; structuredOutput?: "functionCalling" | "jsonMode" | "jsonSchema"; maxReplans?: number };
  mcpConfigPath?: string;
  workspaceRoot: string;
  budgets: { dailyUsd: number; monthlyUsd: number; approvalUsd: number };
  env: Env;
}

/** Parses the environment once; a bad value names the variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new Error(`invalid environment:\n${issueTexts(parsed.error.issues).map((l) => `  ${l}`).join("\n")}`);
  }
  const env = parsed.data;
  const home = path.resolve(cwd, env.CREDIT_OPTIMIZER_HOME ?? ".credit-optimizer");
  const hasModel = env.OPENAI_API_KEY !== undefined || env.OPENAI_BASE_URL !== undefined;
  return {
    home,
    databaseUrl: env.DATABASE_URL,
    queueUrl: env.CREDIT_OPTIMIZER_QUEUE,
    model: hasModel
      ? { apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL, name: env.CREDIT_OPTIMIZER_MODEL ?? "gpt-4o-mini", structuredOutput: env.CREDIT_OPTIMIZER_STRUCTURED_OUTPUT, maxReplans: env.CREDIT_OPTIMIZER_MAX_REPLANS }
      : undefined,
    mcpConfigPath: env.CREDIT_OPTIMIZER_MCP_CONFIG,
    workspaceRoot: path.resolve(cwd, env.CREDIT_OPTIMIZER_WORKSPACE ?? path.join(home, "workspace")),
    budgets: {
      dailyUsd: env.CREDIT_OPTIMIZER_DAILY_CAP_USD,
      monthlyUsd: env.CREDIT_OPTIMIZER_MONTHLY_CAP_USD,
      approvalUsd: env.CREDIT_OPTIMIZER_APPROVAL_USD,
    },
    env,
  };
}

import path from "node:path";
import type { AppConfig } from "../../config.ts";
import type { ToolkitEnv } from "./tool.ts";

export const DEFAULT_LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const DEFAULT_LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

/** Builds the toolkit's environment: a provider gets its cloud backend only when its token is set. */
export function toolkitEnvFromConfig(config: AppConfig): ToolkitEnv {
  const e = config.env;
  return {
    dataDir: path.join(config.home, "toolkit"),
    localPostgresUrl: e.LOCAL_POSTGRES_URL ?? DEFAULT_LOCAL_POSTGRES_URL,
    localPostgresFallback: e.LOCAL_POSTGRES_URL === undefined,
    localRedisUrl: e.LOCAL_REDIS_URL ?? e.LOCAL_REDIS_DEFAULT_URL ?? DEFAULT_LOCAL_REDIS_URL,
    localRedisFallback: e.LOCAL_REDIS_URL === undefined,
    searchPath: e.PATH,
    secretStore: { home: config.home, keyHex: e.CREDIT_OPTIMIZER_SECRET_KEY },
    workspaceRoot: config.workspaceRoot,
    neon: e.NEON_API_KEY
      ? { apiKey: e.NEON_API_KEY, baseUrl: e.NEON_API_URL ?? "https://console.neon.tech/api/v2", orgId: e.NEON_ORG_ID }
      : undefined,
    upstash:
      e.UPSTASH_EMAIL && e.UPSTASH_API_KEY
        ? { email: e.UPSTASH_EMAIL, apiKey: e.UPSTASH_API_KEY, baseUrl: e.UPSTASH_API_URL ?? "https://api.upstash.com/v2" }
        : undefined,
    vercel: e.VERCEL_TOKEN
      ? { token: e.VERCEL_TOKEN, baseUrl: e.VERCEL_API_URL ?? "https://api.vercel.com", teamId: e.VERCEL_TEAM_ID }
      : undefined,
    fly: e.FLY_API_TOKEN
      ? { token: e.FLY_API_TOKEN, baseUrl: e.FLY_API_URL ?? "https://api.machines.dev/v1", orgSlug: e.FLY_ORG ?? "personal" }
      : undefined,
    github: e.GITHUB_TOKEN
      ? { token: e.GITHUB_TOKEN, baseUrl: e.GITHUB_API_URL ?? "https://api.github.com", owner: e.GITHUB_OWNER }
      : undefined,
  };
}

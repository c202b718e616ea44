import { z } from "zod";
import { createHttpClient, isProviderError } from "../http.ts";
import type { ToolkitEnv, ToolkitTool } from "../tool.ts";
import { localUpstashBackend } from "./local/redis.ts";

/** A Redis database as every Upstash backend reports it. */
export interface UpstashDatabase {
  database_id: string;
  database_name: string;
  endpoint: string;
  port: number;
  /** Redis user name: `default` on Upstash, the database's own ACL user locally. */
  username: string;
  password: string;
  /** `rediss://…` on Upstash, `redis://…` locally; works with a standard Redis client. */
  url: string;
  /** Upstash REST API URL and token (cloud only). */
  rest_url?: string;
  rest_token?: string;
  /** Locally, keys must start with this prefix (the database's ACL user can reach no others). */
  key_prefix?: string;
  primary_region: string;
  platform: string;
  state: string;
}

/** What each Upstash backend (cloud REST API or local Redis) implements. */
export interface UpstashBackend {
  createDatabase(
    input: { database_name: string; primary_region: string; platform: "aws" | "gcp"; read_regions?: string[] },
    signal?: AbortSignal,
  ): Promise<UpstashDatabase & { created: boolean }>;
  getDatabase(input: { database_id: string }, signal?: AbortSignal): Promise<UpstashDatabase>;
  deleteDatabase(input: { database_id: string }, signal?: AbortSignal): Promise<{ deleted: boolean }>;
}

function backend(env: ToolkitEnv): UpstashBackend {
  return env.upstash ? cloudUpstashBackend(env.upstash) : localUpstashBackend(env);
}

const DEFAULT_REGION = "us-east-1";
const databaseName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "expected a database name: letters, digits, '_', '.', '-' (at most 63)");
const databaseId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "expected a database id").describe("Database id");

const CreateDatabase = z
  .object({
    database_name: databaseName.optional().describe("Database name; an existing database of that name is returned"),
    name: databaseName.optional().describe("Database name (older spelling of database_name)"),
    primary_region: z.string().min(1).optional().describe(`Primary region, e.g. us-east-1 (default ${DEFAULT_REGION})`),
    region: z.string().min(1).optional().describe("Older spelling: 'global' or a region (taken as the primary region)"),
    read_regions: z.array(z.string().min(1)).optional().describe("Read replica regions (cloud only)"),
    platform: z.enum(["aws", "gcp"]).optional().describe("Cloud platform (default aws)"),
  })
  .refine((v) => v.database_name !== undefined || v.name !== undefined, {
    message: "database_name or name is required",
    path: ["database_name"],
  });

const GetDatabase = z.object({ database_id: databaseId });
const DeleteDatabase = z.object({ database_id: databaseId });

const SECRETS = ["password", "url", "rest_token"];

export const upstashCreateDatabase: ToolkitTool<typeof CreateDatabase> = {
  name: "upstash_create_database",
  category: "upstash",
  description: "Create an Upstash Redis database, or return the existing one of that name. Returns a redis:// URL for any Redis client.",
  input: CreateDatabase,
  secretFields: SECRETS,
  rollback: (_input, output) =>
    output.created === true ? { tool: "upstash_delete_database", arguments: { database_id: output.database_id } } : undefined,
  run: async (input, env, signal) => {
    const legacyRegion = input.region !== undefined && input.region !== "global" ? input.region : undefined;
    const db = await backend(env).createDatabase(
      {
        database_name: (input.database_name ?? input.name) as string,
        primary_region: input.primary_region ?? legacyRegion ?? DEFAULT_REGION,
        platform: input.platform ?? "aws",
        read_regions: input.read_regions,
      },
      signal,
    );
    return { ...db };
  },
};

export const upstashGetDatabase: ToolkitTool<typeof GetDatabase> = {
  name: "upstash_get_database",
  category: "upstash",
  description: "Get an Upstash Redis database by id, with its endpoint, credentials and redis:// URL.",
  input: GetDatabase,
  secretFields: SECRETS,
  run: async (input, env, signal) => ({ ...(await backend(env).getDatabase(input, signal)) }),
};

export const upstashDeleteDatabase: ToolkitTool<typeof DeleteDatabase> = {
  name: "upstash_delete_database",
  category: "upstash",
  description: "Delete an Upstash Redis database and all its keys.",
  input: DeleteDatabase,
  destructive: true,
  run: async (input, env, signal) => ({ database_id: input.database_id, ...(await backend(env).deleteDatabase(input, signal)) }),
};

export const upstashTools: ToolkitTool[] = [upstashCreateDatabase, upstashGetDatabase, upstashDeleteDatabase] as ToolkitTool[];

// ---------------------------------------------------------------------------------------------
// Cloud backend: https://api.upstash.com/v2

interface ApiDatabase {
  database_id: string;
  database_name: string;
  endpoint: string;
  port: number;
  password?: string;
  rest_token?: string;
  primary_region?: string;
  region?: string;
  platform?: string;
  state?: string;
}

function fromApi(db: ApiDatabase): UpstashDatabase {
  const password = db.password ?? "";
  return {
    database_id: db.database_id,
    database_name: db.database_name,
    endpoint: db.endpoint,
    port: db.port,
    username: "default",
    password,
    url: `rediss://default:${encodeURIComponent(password)}@${db.endpoint}:${db.port}`,
    rest_url: `https://${db.endpoint}`,
    rest_token: db.rest_token,
    primary_region: db.primary_region ?? db.region ?? "",
    platform: db.platform ?? "aws",
    state: db.state ?? "active",
  };
}

/** The Upstash developer API backend (HTTP Basic with email and API key). */
export function cloudUpstashBackend(config: NonNullable<ToolkitEnv["upstash"]>): UpstashBackend {
  const http = createHttpClient({
    provider: "upstash",
    baseUrl: config.baseUrl,
    auth: { type: "basic", username: config.email, password: config.apiKey },
    retry: config.retry,
  });
  const path = (id: string): string => `/redis/database/${encodeURIComponent(id)}`;
  const get = async (id: string, signal?: AbortSignal): Promise<UpstashDatabase> =>
    fromApi((await http.request<ApiDatabase>(path(id), { signal })).data);

  return {
    async createDatabase(input, signal) {
      const list = await http.request<ApiDatabase[]>("/redis/databases", { signal });
      const existing = (list.data ?? []).find((db) => db.database_name === input.database_name);
      if (existing) return { ...(await get(existing.database_id, signal)), created: false };
      const body: Record<string, unknown> = {
        database_name: input.database_name,
        platform: input.platform,
        primary_region: input.primary_region,
        region: "global",
        tls: true,
      };
      if (input.read_regions) body.read_regions = input.read_regions;
      const res = await http.request<ApiDatabase>("/redis/database", { method: "POST", body, signal });
      return { ...fromApi(res.data), created: true };
    },

    getDatabase: (input, signal) => get(input.database_id, signal),

    async deleteDatabase(input, signal) {
      try {
        await http.request(path(input.database_id), { method: "DELETE", signal });
        return { deleted: true };
      } catch (error) {
        if (isProviderError(error) && error.status === 404) return { deleted: false };
        throw error;
      }
    },
  };
}

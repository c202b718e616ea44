import { z } from "zod";
import { createOnce } from "../create-once.ts";
import { createHttpClient, isProviderError } from "../http.ts";
import type { ToolkitEnv, ToolkitTool } from "../tool.ts";
import { localUpstashBackend } from "./local/redis.ts";
import type { UpstashBackend, UpstashDatabase } from "./upstash-backend.ts";

function backend(env: ToolkitEnv): UpstashBackend {
  return env.upstash ? cloudUpstashBackend(env.upstash) : localUpstashBackend(env);
}

/** Default primary region per platform: GCP names its regions differently from AWS. */
const DEFAULT_REGION = { aws: "us-east-1", gcp: "us-central1" } as const;
/** AWS region names (us-east-1) end in "-<digit>"; GCP ones (us-central1) in a letter then digits. */
const AWS_REGION = /^[a-z]{2}-[a-z]+-\d+$/;
const GCP_REGION = /^[a-z]+-[a-z]+\d+$/;
const databaseName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "expected a database name: letters, digits, '_', '.', '-' (at most 63)");
const databaseId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "expected a database id").describe("Database id");

const CreateDatabase = z
  .object({
    database_name: databaseName.optional().describe("Database name; an existing database of that name is returned"),
    name: databaseName.optional().describe("Database name (older spelling of database_name)"),
    primary_region: z
      .string()
      .min(1)
      .optional()
      .describe(`Primary region, e.g. us-east-1 on aws or us-central1 on gcp (default ${DEFAULT_REGION.aws} / ${DEFAULT_REGION.gcp})`),
    region: z.string().min(1).optional().describe("Older spelling: 'global' or a region (taken as the primary region)"),
    read_regions: z.array(z.string().min(1)).optional().describe("Read replica regions (cloud only)"),
    platform: z.enum(["aws", "gcp"]).optional().describe("Cloud platform (default aws)"),
  })
  .refine((v) => v.database_name !== undefined || v.name !== undefined, {
    message: "database_name or name is required",
    path: ["database_name"],
  })
  .superRefine((v, ctx) => {
    const platform = v.platform ?? "aws";
    const given = v.primary_region !== undefined ? "primary_region" : v.region !== undefined && v.region !== "global" ? "region" : undefined;
    const region = given === "primary_region" ? v.primary_region : given === "region" ? v.region : undefined;
    if (given === undefined || region === undefined) return;
    const wrong = platform === "gcp" ? AWS_REGION.test(region) : GCP_REGION.test(region);
    if (wrong) {
      const example = DEFAULT_REGION[platform];
      ctx.addIssue({ code: "custom", path: [given], message: `${region} is not a ${platform} region (e.g. ${example}); set platform to match the region` });
    }
  });

const GetDatabase = z.object({ database_id: databaseId });
const DeleteDatabase = z.object({ database_id: databaseId });
const ListDatabases = z.object({});

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
    const platform = input.platform ?? "aws";
    const db = await backend(env).createDatabase(
      {
        database_name: (input.database_name ?? input.name) as string,
        primary_region: input.primary_region ?? legacyRegion ?? DEFAULT_REGION[platform],
        platform,
        read_regions: input.read_regions,
      },
      signal,
    );
    return { ...db };
  },
};

export const upstashGetDatabase: ToolkitTool<typeof GetDatabase> = {
  name: "upstash_get_database",
  readOnly: true,
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

export const upstashListDatabases: ToolkitTool<typeof ListDatabases> = {
  name: "upstash_list_databases",
  readOnly: true,
  category: "upstash",
  description: "List the account's Upstash Redis databases (id, name, region, state; no credentials): what exists now.",
  input: ListDatabases,
  run: async (_input, env, signal) => ({ databases: await backend(env).listDatabases(signal) }),
};

export const upstashTools: ToolkitTool[] = [upstashCreateDatabase, upstashGetDatabase, upstashListDatabases, upstashDeleteDatabase] as ToolkitTool[];

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

/**
 * The database's host. The spec says `endpoint` "may be a slug … or a full host"; a slug (no
 * dot) is completed with `.upstash.io`, the domain every full endpoint uses (unverified for
 * slugs: no primary source states how a slug maps to a host).
 */
export function upstashHost(endpoint: string): string {
  const host = endpoint.trim().replace(/^[a-z]+:\/\//i, "").replace(/[/:].*$/, "");
  return host.includes(".") ? host : `${host}.upstash.io`;
}

function fromApi(db: ApiDatabase): UpstashDatabase {
  // The current spec no longer lists the credentials; without a password the URL would not work.
  if (typeof db.password !== "string" || db.password === "") {
    throw new Error(
      `upstash: database ${db.database_id} ("${db.database_name}") came back without its password; ` +
        "read it in the Upstash console, or delete it with upstash_delete_database if it was just made",
    );
  }
  const password = db.password;
  const host = upstashHost(db.endpoint);
  const region = db.primary_region ?? db.region ?? "";
  return {
    database_id: db.database_id,
    database_name: db.database_name,
    endpoint: host,
    port: db.port,
    username: "default",
    password,
    url: `rediss://default:${encodeURIComponent(password)}@${host}:${db.port}`,
    rest_url: `https://${host}`,
    rest_token: db.rest_token,
    primary_region: region,
    // Answers carry no platform: GCP region names tell it apart.
    platform: db.platform ?? (GCP_REGION.test(region) ? "gcp" : "aws"),
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
      const find = async (): Promise<ApiDatabase | undefined> =>
        ((await http.request<ApiDatabase[]>("/redis/databases", { signal })).data ?? []).find((db) => db.database_name === input.database_name);
      const existing = await find();
      if (existing) return { ...(await get(existing.database_id, signal)), created: false };
      // The current spec's fields only: `region` left the create request (it was "global").
      const body: Record<string, unknown> = {
        database_name: input.database_name,
        platform: input.platform,
        primary_region: input.primary_region,
        tls: true,
      };
      if (input.read_regions) body.read_regions = input.read_regions;
      const made = await createOnce<{ created: ApiDatabase } | { adopted: ApiDatabase }>(
        `database "${input.database_name}"`,
        {
          create: async () => ({ created: (await http.request<ApiDatabase>("/redis/database", { method: "POST", body, signal })).data }),
          find: async () => {
            const found = await find();
            return found ? { adopted: found } : undefined;
          },
        },
        { delayMs: config.retry?.baseDelayMs, signal },
      );
      // Read again when the answer left out the credentials (the list does; the spec lists none).
      const answer = "created" in made ? made.created : made.adopted;
      const db = answer.password ? fromApi(answer) : await get(answer.database_id, signal);
      return { ...db, created: true };
    },

    getDatabase: (input, signal) => get(input.database_id, signal),

    async listDatabases(signal) {
      const list = (await http.request<ApiDatabase[]>("/redis/databases", { signal })).data ?? [];
      return list.map((db) => ({
        database_id: db.database_id,
        database_name: db.database_name,
        primary_region: db.primary_region ?? db.region ?? "",
        state: db.state ?? "active",
      }));
    },

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

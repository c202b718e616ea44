/** The contract of an Upstash backend (the cloud API, the local Redis), apart from the tools that use it. */

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
  /** Every database of the account, without credentials. */
  listDatabases(signal?: AbortSignal): Promise<UpstashDatabaseSummary[]>;
}

/** One database as a list shows it. */
export interface UpstashDatabaseSummary {
  database_id: string;
  database_name: string;
  primary_region: string;
  state: string;
}

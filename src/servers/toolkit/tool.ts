import type { z } from "zod";

/** Where a provider's backend comes from: its cloud REST API (token set) or the local services. */
export interface ToolkitEnv {
  /** Directory for on-disk state of the local backend (process registry, bare git repos, …). */
  dataDir: string;
  /** Admin URL of the local Postgres server, e.g. postgres://postgres@127.0.0.1:5432/postgres. */
  localPostgresUrl: string;
  /** URL of the local Redis server, e.g. redis://127.0.0.1:6379. */
  localRedisUrl: string;
  neon?: { apiKey: string; baseUrl: string };
  upstash?: { email: string; apiKey: string; baseUrl: string };
  vercel?: { token: string; baseUrl: string; teamId?: string };
  fly?: { token: string; baseUrl: string; orgSlug: string };
  github?: { token: string; baseUrl: string; owner?: string };
}

/** The call that undoes what a create tool made, with concrete arguments. */
export interface RollbackCall {
  tool: string;
  arguments: Record<string, unknown>;
}

/** One toolkit tool: the same input and output shape whichever backend serves it. */
export interface ToolkitTool<I extends z.ZodObject = z.ZodObject> {
  name: string;
  category: "neon" | "upstash" | "vercel" | "fly" | "github";
  description: string;
  input: I;
  /** Deletes and other irreversible tools. */
  destructive?: boolean;
  /** Output fields that hold secrets (passwords, tokens, connection strings with credentials). */
  secretFields?: string[];
  /** For create tools: the delete call that undoes this output. */
  rollback?: (input: z.infer<I>, output: Record<string, unknown>) => RollbackCall;
  run(input: z.infer<I>, env: ToolkitEnv, signal?: AbortSignal): Promise<Record<string, unknown>>;
}

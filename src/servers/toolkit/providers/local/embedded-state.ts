import { readFile } from "node:fs/promises";
import path from "node:path";
import type { NeonBackend } from "../neon-backend.ts";

/*
 * Where the embedded Postgres host (embedded-neon.ts) keeps its files, its saved state, and the
 * calls it takes: apart from the host so a preflight, `doctor` or the toolkit's client of the host
 * (embedded-client.ts) can use them without loading PGlite.
 */

/** `LOCAL_POSTGRES_URL=embedded`: always use the embedded Postgres. */
export const EMBEDDED_POSTGRES = "embedded";
export const EMBEDDED_DIR = "embedded-postgres";
export const HOST_FILE = "host.json";
export const STATE_FILE = "state.json";

/** The Neon backend's methods the host serves (one HTTP call each). */
export const NEON_METHODS = [
  "createProject",
  "createDatabase",
  "createBranch",
  "getConnectionString",
  "deleteProject",
  "deleteDatabase",
  "deleteBranch",
] as const satisfies readonly (keyof NeonBackend)[];

export interface HostInfo {
  pid: number;
  port: number;
  token: string;
}

export interface EmbeddedState {
  projects: Record<string, { name: string; default_branch_id: string; branches: Record<string, { name: string; parent_id: string | null }> }>;
  /** By physical name (`co_<project>_<branch>_<database>`), as in the server backend. */
  databases: Record<string, { project_id: string; branch_id: string; database_name: string; port: number }>;
}

export const embeddedDir = (toolkitDataDir: string): string => path.join(toolkitDataDir, EMBEDDED_DIR);
export const hostFile = (toolkitDataDir: string): string => path.join(embeddedDir(toolkitDataDir), HOST_FILE);

export async function readState(toolkitDataDir: string): Promise<EmbeddedState> {
  try {
    return JSON.parse(await readFile(path.join(embeddedDir(toolkitDataDir), STATE_FILE), "utf8")) as EmbeddedState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { projects: {}, databases: {} };
    throw error;
  }
}

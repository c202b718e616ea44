/**
 * The contract of a Neon backend (the cloud REST API, the local Postgres server, the embedded Postgres),
 * apart from the tools that use it, so the backends do not import the tools.
 */

/** Database names: a strict identifier pattern both backends accept. */
export const NEON_DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/;

export interface NeonProject {
  project_id: string;
  name: string;
  branch_id: string;
  database_name: string;
  role_name: string;
  connection_string: string;
  host: string;
  /** False when a project of that name already existed and was returned instead. */
  created: boolean;
}

export interface NeonDatabase {
  project_id: string;
  branch_id: string;
  database_name: string;
  owner_name: string;
  connection_string: string;
  created: boolean;
}

export interface NeonBranch {
  project_id: string;
  branch_id: string;
  name: string;
  parent_id: string | null;
  database_name: string;
  connection_string: string;
  created: boolean;
}

export interface NeonConnection {
  project_id: string;
  branch_id: string;
  database_name: string;
  role_name: string;
  host: string;
  connection_string: string;
}

export interface NeonDeleted {
  /** False when there was nothing to delete. */
  deleted: boolean;
}

/** What each Neon backend (cloud REST API or local Postgres) implements; ids and names already validated. */
export interface NeonBackend {
  createProject(input: { name: string; region_id?: string; pg_version?: number }, signal?: AbortSignal): Promise<NeonProject>;
  createDatabase(
    input: { project_id: string; branch_id?: string; database_name: string; owner_name?: string },
    signal?: AbortSignal,
  ): Promise<NeonDatabase>;
  createBranch(input: { project_id: string; name?: string; parent_id?: string }, signal?: AbortSignal): Promise<NeonBranch>;
  getConnectionString(
    input: { project_id: string; branch_id?: string; database_name?: string; role_name?: string; pooled?: boolean },
    signal?: AbortSignal,
  ): Promise<NeonConnection>;
  deleteProject(input: { project_id: string }, signal?: AbortSignal): Promise<NeonDeleted>;
  deleteDatabase(input: { project_id: string; branch_id?: string; database_name: string }, signal?: AbortSignal): Promise<NeonDeleted & { branch_id: string | null }>;
  deleteBranch(input: { project_id: string; branch_id: string }, signal?: AbortSignal): Promise<NeonDeleted>;
}

import { z } from "zod";

/**
 * The `outputSchema` of every toolkit tool: the same fields whichever backend (cloud or local)
 * serves it. Plans' `${step.field}` references are checked against these before a run, and MCP
 * clients (ours included) check each result against them, so a field a tool starts returning
 * must be declared here first. Fields one backend leaves out are optional.
 */
const str = z.string();
const bool = z.boolean();
const opt = <T extends z.ZodType>(schema: T) => schema.optional();

/** The delete call that undoes what a create tool made (see runParsed in tools/register.ts). */
export const RollbackOutput = z.object({ tool: str, arguments: z.record(z.string(), z.unknown()) });

const neonProject = {
  project_id: str,
  name: str,
  branch_id: str,
  database_name: str,
  role_name: str,
  connection_string: str,
  host: str,
  created: bool,
};
const upstashDatabase = {
  database_id: str,
  database_name: str,
  endpoint: str,
  port: z.number(),
  username: str,
  password: str,
  url: str,
  rest_url: opt(str),
  rest_token: opt(str),
  key_prefix: opt(str),
  primary_region: str,
  platform: str,
  state: str,
};
const deployment = {
  deployment_id: str,
  project_id: opt(str),
  url: str,
  /** The per-deployment URL (production's `url` is the project's public domain). */
  deployment_url: opt(str),
  state: str,
  source: opt(str),
  source_dir: opt(str),
};
const repo = {
  owner: str,
  name: str,
  full_name: str,
  html_url: str,
  clone_url: str,
  default_branch: str,
  private: bool,
  created: bool,
};
const pull = {
  number: z.number().int(),
  html_url: str,
  state: str,
  title: str,
  head: str,
  base: str,
};

const withRollback = (shape: z.ZodRawShape) => z.object({ ...shape, rollback: opt(RollbackOutput) });

export const TOOLKIT_OUTPUTS: Readonly<Record<string, z.ZodObject>> = {
  neon_create_project: withRollback(neonProject),
  neon_create_database: withRollback({
    project_id: str,
    branch_id: str,
    database_name: str,
    owner_name: str,
    connection_string: str,
    created: bool,
  }),
  neon_create_branch: withRollback({
    project_id: str,
    branch_id: str,
    name: str,
    parent_id: str.nullable(),
    database_name: str,
    connection_string: str,
    created: bool,
  }),
  neon_get_connection_string: z.object({
    project_id: str,
    branch_id: str,
    database_name: str,
    role_name: str,
    host: str,
    connection_string: str,
  }),
  neon_list_projects: z.object({ projects: z.array(z.object({ project_id: str, name: str })) }),
  neon_delete_project: z.object({ project_id: str, deleted: bool }),
  neon_delete_database: z.object({ project_id: str, database_name: str, branch_id: str.nullable(), deleted: bool }),
  neon_delete_branch: z.object({ project_id: str, branch_id: str, deleted: bool }),

  upstash_create_database: withRollback({ ...upstashDatabase, created: bool }),
  upstash_get_database: z.object(upstashDatabase),
  upstash_delete_database: z.object({ database_id: str, deleted: bool }),
  upstash_list_databases: z.object({ databases: z.array(z.object({ database_id: str, database_name: str, primary_region: str, state: str })) }),

  vercel_create_project: withRollback({ project_id: str, name: str, created: bool }),
  vercel_set_env: z.object({ project_id: str, keys: z.array(str) }),
  vercel_deploy: z.object(deployment),
  vercel_get_deployment: z.object(deployment),
  vercel_list_projects: z.object({ projects: z.array(z.object({ project_id: str, name: str })) }),
  vercel_list_deployments: z.object({ deployments: z.array(z.object({ deployment_id: str, project_id: opt(str), url: str, state: str })) }),
  vercel_delete_project: z.object({ project_id: str, deleted: bool, existed: bool }),

  fly_create_app: withRollback({ app_name: str, project_id: str, created: bool }),
  fly_set_secrets: z.object({ app_name: str, keys: z.array(str), version: opt(z.union([z.number(), str])) }),
  fly_deploy: z.object({ app_name: str, machine_id: str, machine_ids: opt(z.array(str)), updated: opt(z.boolean()), url: str, state: str, source: opt(str) }),
  fly_get_app: z.object({ app_name: str, status: str, state: str, url: str, machine_ids: z.array(str) }),
  fly_list_apps: z.object({ apps: z.array(z.object({ app_name: str, status: str })) }),
  fly_delete_app: z.object({ app_name: str, deleted: bool, existed: bool }),

  github_create_repo: withRollback(repo),
  github_list_repos: z.object({ repos: z.array(z.object({ owner: str, name: str, full_name: str, html_url: str, private: bool })) }),
  github_delete_repo: z.object({ full_name: str, deleted: bool, existed: bool }),
  github_create_pull_request: withRollback({ ...pull, owner: str, repo: str, created: bool }),
  github_close_pull_request: z.object(pull),
};

/** Output of a tool whose shape is another tool's (the broker) or free-form: any object. */
export const ANY_OBJECT = z.object({}).catchall(z.unknown());

import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { createOnce, noteMaybeCreated } from "../create-once.ts";
import { createHttpClient, isProviderError, type HttpClient } from "../http.ts";
import { maskSecrets } from "../../../secrets.ts";
import { parseToolInput, type ToolkitEnv, type ToolkitTool } from "../tool.ts";
import { LocalDeployments, workspaceRoot, type LocalDeployment, type LocalProject } from "./local/processes.ts";

type VercelConfig = NonNullable<ToolkitEnv["vercel"]>;

export type VercelErrorCode = "ENV_FAILED" | "DEPLOY_FAILED" | "DEPLOY_TIMEOUT" | "NO_SOURCE";

/** A Vercel operation that the API accepted but that did not succeed (failed env upserts, a failed build). */
export class VercelError extends Error {
  readonly code: VercelErrorCode;

  constructor(code: VercelErrorCode, message: string) {
    super(`vercel: ${message}`);
    this.name = "VercelError";
    this.code = code;
  }
}

export function isVercelError(error: unknown): error is VercelError {
  return error instanceof VercelError;
}

const projectName = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?$/,
    "use at most 100 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
  );
const projectId = z.string().min(1).describe("Project id or name");
const envVars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "not an environment variable name"), z.string());
const targets = z.array(z.enum(["production", "preview", "development"])).min(1);
const ALL_TARGETS: Target[] = ["production", "preview", "development"];
type Target = z.infer<typeof targets>[number];

const createProjectInput = z.object({ name: projectName.describe("Project name") });
const setEnvInput = z.object({
  project_id: projectId,
  env: envVars.describe("Variables to set (upserted)"),
  target: targets.optional().describe("Environments (default: all three)"),
});
const deployInput = z.object({
  project_id: projectId,
  env: envVars.optional().describe("Variables set on the project before deploying"),
  source_dir: z.string().min(1).optional().describe("App directory (default: <workspace>/<project name>)"),
  target: z
    .enum(["production", "preview"])
    .default("production")
    .describe("production, or preview (sent without a target: Vercel documents no \"preview\" value)"),
});
const deploymentInput = z.object({ deployment_id: z.string().min(1) });
const deleteInput = z.object({ project_id: projectId });
const listProjectsInput = z.object({});
const listDeploymentsInput = z.object({ project_id: projectId.optional().describe("Only this project's deployments (id or name)") });

interface VercelProject {
  id: string;
  name: string;
}

interface VercelDeployment {
  id: string;
  url: string;
  readyState: string;
  target?: string | null;
  /** Domains assigned to the deployment; for production the project's public domains. */
  alias?: string[];
  projectId?: string;
  errorCode?: string;
  errorMessage?: string;
}

function client(cfg: VercelConfig): HttpClient {
  return createHttpClient({ provider: "vercel", baseUrl: cfg.baseUrl, auth: { type: "bearer", token: cfg.token }, retry: cfg.retry });
}

function team(cfg: VercelConfig): Record<string, string | undefined> {
  return { teamId: cfg.teamId };
}

const part = encodeURIComponent;

// ---------------------------------------------------------------- projects

async function createProject(env: ToolkitEnv, name: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.vercel) {
    const { project, created } = await new LocalDeployments(env, "vercel").create(name, `prj_${randomBytes(12).toString("hex")}`);
    return { project_id: project.id, name: project.name, created };
  }
  const api = client(env.vercel);
  const cfg = env.vercel;
  try {
    // After a 5xx or a timeout the project may exist: it is then this call's, not "already there".
    const data = await createOnce<VercelProject>(
      `project "${name}"`,
      {
        create: async () => (await api.request<VercelProject>("/v11/projects", { method: "POST", query: team(cfg), body: { name }, signal })).data,
        find: async () => {
          try {
            return await getProject(api, cfg, name, signal);
          } catch (error) {
            if (isProviderError(error) && error.status === 404) return undefined;
            throw error;
          }
        },
      },
      { delayMs: cfg.retry?.baseDelayMs, signal },
    );
    return { project_id: data.id, name: data.name, created: true };
  } catch (error) {
    if (!isProviderError(error) || error.status !== 409) throw error;
    const data = await getProject(api, env.vercel, name, signal);
    return { project_id: data.id, name: data.name, created: false };
  }
}

async function getProject(api: HttpClient, cfg: VercelConfig, idOrName: string, signal?: AbortSignal): Promise<VercelProject> {
  return (await api.request<VercelProject>(`/v9/projects/${part(idOrName)}`, { query: team(cfg), signal })).data;
}

async function deleteProject(env: ToolkitEnv, id: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.vercel) {
    const existed = await new LocalDeployments(env, "vercel").delete(id);
    return { project_id: id, deleted: true, existed };
  }
  try {
    await client(env.vercel).request(`/v9/projects/${part(id)}`, { method: "DELETE", query: team(env.vercel), signal });
    return { project_id: id, deleted: true, existed: true };
  } catch (error) {
    if (isProviderError(error) && error.status === 404) return { project_id: id, deleted: true, existed: false };
    throw error;
  }
}

// ---------------------------------------------------------------- env vars

async function setEnv(
  env: ToolkitEnv,
  id: string,
  values: Record<string, string>,
  target: Target[],
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const keys = Object.keys(values);
  if (!env.vercel) {
    const local = new LocalDeployments(env, "vercel");
    await local.setEnv(id, values);
    return { project_id: (await local.get(id)).id, keys };
  }
  const body = Object.entries(values).map(([key, value]) => ({ key, value, type: "encrypted", target }));
  const { data } = await client(env.vercel)
    .request<{ failed?: Array<{ error?: { key?: string; code?: string; message?: string } }> }>(`/v10/projects/${part(id)}/env`, {
      method: "POST",
      query: { ...team(env.vercel), upsert: "true" },
      body,
      // An upsert of the same values is harmless to repeat.
      idempotent: true,
      signal,
    })
    .catch((error: unknown) => rethrowWithout(error, values));
  const failed = data?.failed ?? [];
  if (failed.length > 0) {
    const reasons = failed.map((f) => `${f.error?.key ?? "?"}: ${f.error?.message ?? f.error?.code ?? "failed"}`);
    throw new VercelError("ENV_FAILED", maskSecrets(`setting env on project "${id}" failed for ${reasons.join("; ")}`, Object.values(values)));
  }
  return { project_id: id, keys };
}

/** Rethrows `error` with the given values (env vars, secrets) removed from its message. */
function rethrowWithout(error: unknown, values: Record<string, string>): never {
  if (error instanceof Error) error.message = maskSecrets(error.message, Object.values(values));
  throw error;
}

// ---------------------------------------------------------------- deployments

type DeployArgs = z.infer<typeof deployInput>;

async function deploy(env: ToolkitEnv, args: DeployArgs, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (args.env) await setEnv(env, args.project_id, args.env, ALL_TARGETS, signal);
  if (!env.vercel) {
    const { project, deployment } = await new LocalDeployments(env, "vercel").deploy(args.project_id, { sourceDir: args.source_dir, signal });
    return localDeployment(project, deployment, "READY");
  }
  return cloudDeploy(env, env.vercel, args, signal);
}

async function cloudDeploy(env: ToolkitEnv, cfg: VercelConfig, args: DeployArgs, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const api = client(cfg);
  const project = await getProject(api, cfg, args.project_id, signal);
  const sourceDir = path.resolve(args.source_dir ?? path.join(workspaceRoot(env), project.name));
  const files = await sourceFiles(sourceDir);
  // A preview is a deployment without `target`; the POST is never repeated blind (see http.ts).
  const body: Record<string, unknown> = { name: project.name, project: project.id, files };
  if (args.target === "production") body.target = "production";
  const { data } = await api.request<VercelDeployment>("/v13/deployments", {
    method: "POST",
    query: { ...team(cfg), skipAutoDetectionConfirmation: 1 },
    body,
    signal,
  }).catch((error: unknown) => noteMaybeCreated(error, `a deployment of project ${project.name}`));
  const done = await waitUntilReady(api, cfg, data, signal);
  return { ...cloudDeployment(done, project.id), source: "source_dir", source_dir: sourceDir };
}

async function waitUntilReady(api: HttpClient, cfg: VercelConfig, first: VercelDeployment, signal?: AbortSignal): Promise<VercelDeployment> {
  const timeoutMs = cfg.deployTimeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs;
  for (let current = first; ; ) {
    if (current.readyState === "READY") return current;
    // BLOCKED waits for someone to unblock it (e.g. a team's approval): polling on would only time out.
    if (current.readyState === "ERROR" || current.readyState === "CANCELED" || current.readyState === "BLOCKED") {
      const reason = current.errorMessage ?? current.errorCode ?? "no error message";
      throw new VercelError("DEPLOY_FAILED", `deployment ${current.id} ended in ${current.readyState}: ${reason}`);
    }
    if (Date.now() >= deadline) {
      throw new VercelError("DEPLOY_TIMEOUT", `deployment ${current.id} still ${current.readyState} after ${timeoutMs} ms`);
    }
    await sleep(cfg.pollIntervalMs ?? 2_000, undefined, { signal });
    current = (await api.request<VercelDeployment>(`/v13/deployments/${part(current.id)}`, { query: team(cfg), signal })).data;
  }
}

async function getDeployment(env: ToolkitEnv, id: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.vercel) {
    const { project, deployment, running } = await new LocalDeployments(env, "vercel").findDeployment(id);
    const state = !running ? "ERROR" : deployment.ready ? "READY" : "BUILDING";
    return localDeployment(project, deployment, state);
  }
  const { data } = await client(env.vercel).request<VercelDeployment>(`/v13/deployments/${part(id)}`, { query: team(env.vercel), signal });
  return cloudDeployment(data, data.projectId);
}

/**
 * `url` is where the app is public: for production its first assigned domain, since the
 * per-deployment URL (`deployment_url`) may sit behind Deployment Protection; a preview has
 * only its own URL, which then asks visitors to log in to Vercel.
 */
function cloudDeployment(d: VercelDeployment, projectId: string | undefined): Record<string, unknown> {
  const deploymentUrl = `https://${d.url}`;
  const domain = d.target === "production" ? d.alias?.find((a) => a.length > 0) : undefined;
  return {
    deployment_id: d.id,
    project_id: projectId,
    url: domain ? `https://${domain}` : deploymentUrl,
    deployment_url: deploymentUrl,
    state: d.readyState,
  };
}

function localDeployment(project: LocalProject, d: LocalDeployment, state: string): Record<string, unknown> {
  return { deployment_id: d.id, project_id: project.id, url: d.url, deployment_url: d.url, state, source: d.source, source_dir: d.sourceDir };
}

// ---------------------------------------------------------------- lists

/** The account's (or team's) projects, first 100. */
async function listProjects(env: ToolkitEnv, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.vercel) {
    const projects = await new LocalDeployments(env, "vercel").list();
    return { projects: projects.map(({ project }) => ({ project_id: project.id, name: project.name })) };
  }
  const { data } = await client(env.vercel).request<{ projects?: VercelProject[] }>("/v10/projects", { query: { ...team(env.vercel), limit: 100 }, signal });
  return { projects: (data?.projects ?? []).map((p) => ({ project_id: p.id, name: p.name })) };
}

interface ListedDeployment {
  uid: string;
  url: string;
  state?: string;
  readyState?: string;
  projectId?: string;
  target?: string | null;
}

/** Deployments, newest first (first 20): a project's, or every project's. Locally each project's current one. */
async function listDeployments(env: ToolkitEnv, projectIdOrName: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.vercel) {
    const listed = await new LocalDeployments(env, "vercel").list();
    const mine = listed.filter(({ project }) => projectIdOrName === undefined || project.id === projectIdOrName || project.name === projectIdOrName);
    return {
      deployments: mine.flatMap(({ project, running }) =>
        project.deployment ? [{ deployment_id: project.deployment.id, project_id: project.id, url: project.deployment.url, state: !running ? "ERROR" : project.deployment.ready ? "READY" : "BUILDING" }] : [],
      ),
    };
  }
  const cfg = env.vercel;
  const api = client(cfg);
  const projectId = projectIdOrName === undefined ? undefined : (await getProject(api, cfg, projectIdOrName, signal)).id;
  const { data } = await api.request<{ deployments?: ListedDeployment[] }>("/v6/deployments", { query: { ...team(cfg), projectId, limit: 20 }, signal });
  return {
    deployments: (data?.deployments ?? []).map((d) => ({ deployment_id: d.uid, project_id: d.projectId ?? projectId, url: `https://${d.url}`, state: d.readyState ?? d.state ?? "UNKNOWN" })),
  };
}

// ---------------------------------------------------------------- source files

const SKIPPED = new Set(["node_modules", ".git", ".vercel"]);
const MAX_FILES = 1_000;
const MAX_BYTES = 10 * 1024 * 1024;

interface InlineFile {
  file: string;
  data: string;
  encoding: "base64";
}

/** The app's files as inline deployment files (without node_modules and .git). */
async function sourceFiles(root: string): Promise<InlineFile[]> {
  const files: InlineFile[] = [];
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const content = await readFile(full);
        bytes += content.length;
        files.push({ file: path.relative(root, full).split(path.sep).join("/"), data: content.toString("base64"), encoding: "base64" });
      }
      if (files.length > MAX_FILES || bytes > MAX_BYTES) {
        throw new VercelError("NO_SOURCE", `${root} holds more than ${MAX_FILES} files or ${MAX_BYTES} bytes to upload`);
      }
    }
  };
  try {
    await walk(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new VercelError("NO_SOURCE", `no app to deploy: ${root} does not exist (set source_dir or generate the app first)`);
  }
  if (files.length === 0) throw new VercelError("NO_SOURCE", `no app to deploy: ${root} is empty`);
  return files;
}

// ---------------------------------------------------------------- tools

export const vercelTools: ToolkitTool[] = [
  {
    name: "vercel_create_project",
    category: "vercel",
    description: "Create a Vercel project (returns the existing one when the name is taken by it).",
    input: createProjectInput,
    rollback: (_input, output) =>
      output.created === true ? { tool: "vercel_delete_project", arguments: { project_id: output.project_id } } : undefined,
    run: async (input, env, signal) => createProject(env, parseToolInput("vercel_create_project", createProjectInput, input).name, signal),
  },
  {
    name: "vercel_set_env",
    undoneWith: "vercel_delete_project",
    category: "vercel",
    description: "Set (upsert) environment variables on a Vercel project.",
    input: setEnvInput,
    run: async (input, env, signal) => {
      const args = parseToolInput("vercel_set_env", setEnvInput, input);
      return setEnv(env, args.project_id, args.env, args.target ?? ALL_TARGETS, signal);
    },
  },
  {
    name: "vercel_deploy",
    undoneWith: "vercel_delete_project",
    category: "vercel",
    description:
      "Deploy a Vercel project's app (setting `env` first) and wait until it is READY. `url` is the production domain " +
      "for production; a preview's URL may require a Vercel login (Deployment Protection).",
    input: deployInput,
    run: async (input, env, signal) => deploy(env, parseToolInput("vercel_deploy", deployInput, input), signal),
  },
  {
    name: "vercel_get_deployment",
    readOnly: true,
    category: "vercel",
    description: "Read a Vercel deployment's state and URL.",
    input: deploymentInput,
    run: async (input, env, signal) => getDeployment(env, parseToolInput("vercel_get_deployment", deploymentInput, input).deployment_id, signal),
  },
  {
    name: "vercel_list_projects",
    readOnly: true,
    category: "vercel",
    description: "List the account's Vercel projects (id and name): what exists now.",
    input: listProjectsInput,
    run: async (input, env, signal) => {
      parseToolInput("vercel_list_projects", listProjectsInput, input);
      return listProjects(env, signal);
    },
  },
  {
    name: "vercel_list_deployments",
    readOnly: true,
    category: "vercel",
    description: "List Vercel deployments, newest first (of one project when project_id is given), with their state and URL.",
    input: listDeploymentsInput,
    run: async (input, env, signal) => listDeployments(env, parseToolInput("vercel_list_deployments", listDeploymentsInput, input).project_id, signal),
  },
  {
    name: "vercel_delete_project",
    category: "vercel",
    description: "Delete a Vercel project and its deployments.",
    input: deleteInput,
    destructive: true,
    run: async (input, env, signal) => deleteProject(env, parseToolInput("vercel_delete_project", deleteInput, input).project_id, signal),
  },
];

import { z } from "zod";
import { createHttpClient, isProviderError, scrubSecrets, type HttpClient } from "../http.ts";
import { parseToolInput, type ToolkitEnv, type ToolkitTool } from "../tool.ts";
import { LocalDeployments } from "./local/processes.ts";

type FlyConfig = NonNullable<ToolkitEnv["fly"]>;

export type FlyErrorCode = "IMAGE_REQUIRED" | "MACHINE_NOT_STARTED";

/** A Fly.io deploy that cannot go ahead or whose machine did not start. */
export class FlyError extends Error {
  readonly code: FlyErrorCode;

  constructor(code: FlyErrorCode, message: string) {
    super(`fly: ${message}`);
    this.name = "FlyError";
    this.code = code;
  }
}

export function isFlyError(error: unknown): error is FlyError {
  return error instanceof FlyError;
}

const appName = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "use at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit")
  .describe("Fly app name");
const envVars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "not an environment variable name"), z.string());

const createAppInput = z.object({ app_name: appName, org_slug: z.string().min(1).optional().describe("Organization (default: configured org)") });
const secretsInput = z.object({ app_name: appName, secrets: envVars.describe("Secrets to set, exposed to the app as env vars") });
const deployInput = z.object({
  app_name: appName,
  image: z.string().min(1).optional().describe("Container image (required on Fly.io; the local backend runs source_dir)"),
  env: envVars.optional().describe("Environment of this machine"),
  secrets: envVars.optional().describe("Secrets set on the app before deploying"),
  region: z.string().min(1).optional(),
  internal_port: z.number().int().min(1).max(65_535).default(8080).describe("Port the app listens on (Fly.io)"),
  source_dir: z.string().min(1).optional().describe("App directory for the local backend (default: <workspace>/<app name>)"),
});
const deleteInput = z.object({ app_name: appName });

type DeployArgs = z.infer<typeof deployInput>;

function client(cfg: FlyConfig): HttpClient {
  return createHttpClient({ provider: "fly", baseUrl: cfg.baseUrl, auth: { type: "bearer", token: cfg.token }, retry: cfg.retry });
}

const part = encodeURIComponent;

/** Rethrows `error` with the given values (env vars, secrets) removed from its message. */
function rethrowWithout(error: unknown, values: Record<string, string>): never {
  if (error instanceof Error) error.message = scrubSecrets(error.message, Object.values(values));
  throw error;
}

async function createApp(env: ToolkitEnv, name: string, orgSlug: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    const { created } = await new LocalDeployments(env, "fly").create(name, name);
    return { app_name: name, project_id: name, created };
  }
  const api = client(env.fly);
  try {
    await api.request("/apps", { method: "POST", body: { app_name: name, org_slug: orgSlug ?? env.fly.orgSlug }, signal });
    return { app_name: name, project_id: name, created: true };
  } catch (error) {
    if (!isProviderError(error) || error.status !== 422 || !(await readable(api, name, signal))) throw error;
    return { app_name: name, project_id: name, created: false };
  }
}

/** True when the app exists and this token can read it (a 422 on create then means "already ours"). */
async function readable(api: HttpClient, name: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await api.request(`/apps/${part(name)}`, { signal });
    return true;
  } catch (error) {
    if (isProviderError(error) && (error.status === 404 || error.status === 403)) return false;
    throw error;
  }
}

async function setSecrets(env: ToolkitEnv, name: string, secrets: Record<string, string>, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const keys = Object.keys(secrets);
  if (!env.fly) {
    const version = await new LocalDeployments(env, "fly").setEnv(name, secrets);
    return { app_name: name, keys, version };
  }
  const { data } = await client(env.fly)
    .request<{ version?: number }>(`/apps/${part(name)}/secrets`, { method: "POST", body: { values: secrets }, signal })
    .catch((error: unknown) => rethrowWithout(error, secrets));
  return { app_name: name, keys, version: data?.version };
}

async function deploy(env: ToolkitEnv, args: DeployArgs, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    if (args.secrets) await setSecrets(env, args.app_name, args.secrets, signal);
    const { deployment } = await new LocalDeployments(env, "fly").deploy(args.app_name, { sourceDir: args.source_dir, env: args.env, signal });
    return { app_name: args.app_name, machine_id: deployment.id, url: deployment.url, state: "started", source: deployment.source };
  }
  if (args.image === undefined) {
    throw new FlyError("IMAGE_REQUIRED", "fly_deploy: image: required when deploying to Fly.io (the local backend runs source_dir)");
  }
  if (args.secrets) await setSecrets(env, args.app_name, args.secrets, signal);
  const api = client(env.fly);
  const app = part(args.app_name);
  const { data: machine } = await api
    .request<{ id: string }>(`/apps/${app}/machines`, {
      method: "POST",
      body: { region: args.region, config: machineConfig(args.image, args.env ?? {}, args.internal_port) },
      retry: false,
      signal,
    })
    .catch((error: unknown) => rethrowWithout(error, args.env ?? {}));
  await waitStarted(api, args.app_name, machine.id, signal);
  return { app_name: args.app_name, machine_id: machine.id, url: `https://${args.app_name}.fly.dev`, state: "started", source: "image" };
}

/** The machine: the image, its env (with `PORT` = the internal port unless set), behind HTTP/HTTPS. */
function machineConfig(image: string, env: Record<string, string>, internalPort: number): Record<string, unknown> {
  return {
    image,
    env: { PORT: String(internalPort), ...env },
    services: [
      {
        protocol: "tcp",
        internal_port: internalPort,
        ports: [
          { port: 80, handlers: ["http"] },
          { port: 443, handlers: ["tls", "http"] },
        ],
      },
    ],
  };
}

async function waitStarted(api: HttpClient, app: string, machineId: string, signal?: AbortSignal): Promise<void> {
  try {
    await api.request(`/apps/${part(app)}/machines/${part(machineId)}/wait`, { query: { state: "started", timeout: 60 }, signal });
  } catch (error) {
    if (!isProviderError(error) || error.status !== 408) throw error;
    throw new FlyError("MACHINE_NOT_STARTED", `machine ${machineId} of app ${app} did not reach "started" within 60 s`);
  }
}

async function deleteApp(env: ToolkitEnv, name: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    const existed = await new LocalDeployments(env, "fly").delete(name);
    return { app_name: name, deleted: true, existed };
  }
  try {
    await client(env.fly).request(`/apps/${part(name)}`, { method: "DELETE", signal });
    return { app_name: name, deleted: true, existed: true };
  } catch (error) {
    if (isProviderError(error) && error.status === 404) return { app_name: name, deleted: true, existed: false };
    throw error;
  }
}

export const flyTools: ToolkitTool[] = [
  {
    name: "fly_create_app",
    category: "fly",
    description: "Create a Fly.io app (an existing app of yours with that name counts as created).",
    input: createAppInput,
    rollback: (_input, output) =>
      output.created === true ? { tool: "fly_delete_app", arguments: { app_name: output.app_name } } : undefined,
    run: async (input, env, signal) => {
      const args = parseToolInput("fly_create_app", createAppInput, input);
      return createApp(env, args.app_name, args.org_slug, signal);
    },
  },
  {
    name: "fly_set_secrets",
    category: "fly",
    description: "Set secrets on a Fly.io app; returns the keys set and the secrets version.",
    input: secretsInput,
    run: async (input, env, signal) => {
      const args = parseToolInput("fly_set_secrets", secretsInput, input);
      return setSecrets(env, args.app_name, args.secrets, signal);
    },
  },
  {
    name: "fly_deploy",
    category: "fly",
    description: "Deploy a Fly.io app: set secrets, start a machine and wait until it is started.",
    input: deployInput,
    run: async (input, env, signal) => deploy(env, parseToolInput("fly_deploy", deployInput, input), signal),
  },
  {
    name: "fly_delete_app",
    category: "fly",
    description: "Delete a Fly.io app with its machines.",
    input: deleteInput,
    destructive: true,
    run: async (input, env, signal) => deleteApp(env, parseToolInput("fly_delete_app", deleteInput, input).app_name, signal),
  },
];

import { z } from "zod";
import { randomBytes } from "node:crypto";
import { createOnce } from "../create-once.ts";
import { createHttpClient, isProviderError, type HttpClient } from "../http.ts";
import { maskSecrets } from "../../../secrets.ts";
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
  secrets_version: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe("The version fly_set_secrets returned: the machine starts only with secrets at least this new (Fly.io)"),
  source_dir: z.string().min(1).optional().describe("App directory for the local backend (default: <workspace>/<app name>)"),
});
const deleteInput = z.object({ app_name: appName });
const getAppInput = z.object({ app_name: appName });
const listAppsInput = z.object({ org_slug: z.string().min(1).optional().describe("Organization (default: configured org)") });

type DeployArgs = z.infer<typeof deployInput>;

/** How long `…/wait` may hold the request on Fly's side: the API's own maximum is 60 s. */
const MAX_WAIT_SECONDS = 60;
/** The HTTP client waits this much longer than the server-side wait, so Fly's 408 is what ends it. */
const WAIT_MARGIN_MS = 15_000;

/** fly-go's rule: macaroon tokens (`fm1r_…`, `fm2_…`, possibly comma-joined) use the `FlyV1` scheme. */
export function flyAuthScheme(token: string): "FlyV1" | "Bearer" {
  return token.split(",").some((part) => /^(fm1r|fm2)_/.test(part.trim().replace(/^FlyV1\s+/, ""))) ? "FlyV1" : "Bearer";
}

function client(cfg: FlyConfig): HttpClient {
  const token = cfg.token.replace(/^(FlyV1|Bearer)\s+/i, "");
  return createHttpClient({
    provider: "fly",
    baseUrl: cfg.baseUrl,
    auth: { type: "bearer", token, scheme: flyAuthScheme(token) },
    retry: cfg.retry,
    timeoutMs: cfg.timeoutMs,
  });
}

const part = encodeURIComponent;

/** Rethrows `error` with the given values (env vars, secrets) removed from its message. */
function rethrowWithout(error: unknown, values: Record<string, string>): never {
  if (error instanceof Error) error.message = maskSecrets(error.message, Object.values(values));
  throw error;
}

async function createApp(env: ToolkitEnv, name: string, orgSlug: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    const { created } = await new LocalDeployments(env, "fly").create(name, name);
    return { app_name: name, project_id: name, created };
  }
  const api = client(env.fly);
  const org = orgSlug ?? env.fly.orgSlug;
  try {
    // After a 5xx or a timeout the app may exist: then it is ours to roll back, not "already there".
    await createOnce(
      `app "${name}"`,
      {
        create: async () => {
          // The Machines API documents `app_name`; fly-go sends `name`: both, with the same value.
          await api.request("/apps", { method: "POST", body: { app_name: name, name, org_slug: org }, signal });
          return true;
        },
        find: async () => ((await readable(api, name, signal)) ? true : undefined),
      },
      { delayMs: env.fly.retry?.baseDelayMs, signal },
    );
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
  // Setting the same values again is harmless, so this POST may be repeated after a 5xx.
  const { data } = await client(env.fly)
    .request<{ version?: number }>(`/apps/${part(name)}/secrets`, { method: "POST", body: { values: secrets }, idempotent: true, signal })
    .catch((error: unknown) => rethrowWithout(error, secrets));
  return { app_name: name, keys, version: data?.version };
}

interface FlyMachine {
  id: string;
  name?: string;
  state?: string;
  instance_id?: string;
  region?: string;
}

async function deploy(env: ToolkitEnv, args: DeployArgs, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    if (args.secrets) await setSecrets(env, args.app_name, args.secrets, signal);
    const { deployment } = await new LocalDeployments(env, "fly").deploy(args.app_name, { sourceDir: args.source_dir, env: args.env, signal });
    return {
      app_name: args.app_name,
      machine_id: deployment.id,
      machine_ids: [deployment.id],
      url: deployment.url,
      state: "started",
      source: deployment.source,
    };
  }
  if (args.image === undefined) {
    throw new FlyError("IMAGE_REQUIRED", "fly_deploy: image: required when deploying to Fly.io (the local backend runs source_dir)");
  }
  const cfg = env.fly;
  let secretsVersion = args.secrets_version;
  if (args.secrets) {
    const { version } = await setSecrets(env, args.app_name, args.secrets, signal);
    if (typeof version === "number") secretsVersion = Math.max(version, secretsVersion ?? 0);
  }
  const api = client(cfg);
  const app = part(args.app_name);
  const once = { delayMs: cfg.retry?.baseDelayMs, signal };
  await ensurePublicIps(api, args.app_name, once);
  const config = machineConfig(args.image, args.env ?? {}, args.internal_port);
  // A machine started before the secrets were set would run without them: ask for that version.
  const launch = (extra: Record<string, unknown>): Record<string, unknown> => ({
    config,
    ...(args.region ? { region: args.region } : {}),
    ...(secretsVersion !== undefined ? { min_secrets_version: secretsVersion } : {}),
    ...extra,
  });
  const listMachines = async (): Promise<FlyMachine[]> =>
    ((await api.request<FlyMachine[]>(`/apps/${app}/machines`, { signal })).data ?? []).filter((m) => m.state !== "destroyed" && m.state !== "destroying");
  const existing = await listMachines();
  let machines: FlyMachine[];
  if (existing.length > 0) {
    // A redeploy updates the app's machines in place rather than adding one beside them.
    machines = [];
    for (const machine of existing) {
      const { data } = await api
        .request<FlyMachine>(`/apps/${app}/machines/${part(machine.id)}`, { method: "POST", body: launch({}), idempotent: true, signal })
        .catch((error: unknown) => rethrowWithout(error, args.env ?? {}));
      machines.push(data ?? machine);
    }
  } else {
    // The name is this call's own, so after a 5xx or a timeout the machine can be found again.
    const machineName = `${args.app_name}-${randomBytes(4).toString("hex")}`;
    const created = await createOnce<FlyMachine>(
      `machine "${machineName}" of app ${args.app_name}`,
      {
        create: async () =>
          (
            await api
              .request<FlyMachine>(`/apps/${app}/machines`, { method: "POST", body: launch({ name: machineName }), signal })
              .catch((error: unknown) => rethrowWithout(error, args.env ?? {}))
          ).data,
        find: async () => (await listMachines()).find((m) => m.name === machineName),
      },
      once,
    );
    machines = [created];
  }
  for (const machine of machines) await waitStarted(api, cfg, args.app_name, machine, signal);
  const [first] = machines;
  return {
    app_name: args.app_name,
    machine_id: first?.id,
    machine_ids: machines.map((m) => m.id),
    updated: existing.length > 0,
    url: `https://${args.app_name}.fly.dev`,
    state: "started",
    source: "image",
  };
}

interface IpAssignment {
  ip: string;
  shared?: boolean;
}

/** Private (flycast, `fdaa:…`) addresses do not make `{app}.fly.dev` answer. */
const isPublicIp = (ip: IpAssignment): boolean => !ip.ip.toLowerCase().startsWith("fdaa:");

/**
 * `https://{app}.fly.dev` answers only once the app has a public address: allocate a shared IPv4
 * and an IPv6 (what `fly launch` gives an app) unless it has one already.
 */
async function ensurePublicIps(api: HttpClient, appName: string, once: { delayMs?: number; signal?: AbortSignal }): Promise<void> {
  const path = `/apps/${part(appName)}/ip_assignments`;
  const list = async (): Promise<IpAssignment[]> =>
    ((await api.request<{ ips?: IpAssignment[] }>(path, { signal: once.signal })).data?.ips ?? []).filter(isPublicIp);
  if ((await list()).length > 0) return;
  for (const type of ["shared_v4", "v6"] as const) {
    const isType = (ip: IpAssignment): boolean => (type === "v6" ? ip.ip.includes(":") : !ip.ip.includes(":"));
    await createOnce<IpAssignment>(
      `${type} address of app ${appName}`,
      {
        create: async () => (await api.request<IpAssignment>(path, { method: "POST", body: { type }, signal: once.signal })).data,
        find: async () => (await list()).find(isType),
      },
      once,
    );
  }
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

/**
 * Waits for `started` with Fly's long poll. Its `timeout` (seconds, at most 60) must end before the
 * HTTP client's own timeout, or Fly's 408 "not started" is never seen and the wait is retried blind.
 */
export function flyWaitTimeouts(cfg: Pick<FlyConfig, "waitSeconds">): { seconds: number; httpTimeoutMs: number } {
  const seconds = Math.min(MAX_WAIT_SECONDS, Math.max(1, Math.round(cfg.waitSeconds ?? MAX_WAIT_SECONDS)));
  return { seconds, httpTimeoutMs: seconds * 1000 + WAIT_MARGIN_MS };
}

async function waitStarted(api: HttpClient, cfg: FlyConfig, app: string, machine: FlyMachine, signal?: AbortSignal): Promise<void> {
  const { seconds, httpTimeoutMs } = flyWaitTimeouts(cfg);
  try {
    await api.request(`/apps/${part(app)}/machines/${part(machine.id)}/wait`, {
      // `version` (fly-go's name for it) is the machine's instance id: wait for this deploy's instance.
      query: { state: "started", timeout: seconds, version: machine.instance_id },
      timeoutMs: httpTimeoutMs,
      signal,
    });
  } catch (error) {
    if (!isProviderError(error) || error.status !== 408) throw error;
    throw new FlyError("MACHINE_NOT_STARTED", `machine ${machine.id} of app ${app} did not reach "started" within ${seconds} s`);
  }
}

/** `started` when a machine runs (any, on Fly.io), else the first machine's state, else `stopped`. */
async function getApp(env: ToolkitEnv, name: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    const found = (await new LocalDeployments(env, "fly").list()).find(({ project }) => project.name === name);
    if (!found) throw new Error(`fly: app "${name}" does not exist`);
    const { project, running } = found;
    return { app_name: name, status: running ? "deployed" : "pending", state: running ? "started" : "stopped", url: project.deployment?.url ?? "", machine_ids: running && project.deployment ? [project.deployment.id] : [] };
  }
  const api = client(env.fly);
  const { data: app } = await api.request<{ name: string; status?: string }>(`/apps/${part(name)}`, { signal });
  const machines = ((await api.request<FlyMachine[]>(`/apps/${part(name)}/machines`, { signal })).data ?? []).filter((m) => m.state !== "destroyed");
  const state = machines.some((m) => m.state === "started") ? "started" : (machines[0]?.state ?? "stopped");
  return { app_name: app.name, status: app.status ?? "unknown", state, url: `https://${app.name}.fly.dev`, machine_ids: machines.map((m) => m.id) };
}

/** The organization's apps (name and status). */
async function listApps(env: ToolkitEnv, orgSlug: string | undefined, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    const apps = await new LocalDeployments(env, "fly").list();
    return { apps: apps.map(({ project, running }) => ({ app_name: project.name, status: running ? "deployed" : "pending" })) };
  }
  const { data } = await client(env.fly).request<{ apps?: { name: string; status?: string }[] }>("/apps", { query: { org_slug: orgSlug ?? env.fly.orgSlug }, signal });
  return { apps: (data?.apps ?? []).map((a) => ({ app_name: a.name, status: a.status ?? "unknown" })) };
}

async function deleteApp(env: ToolkitEnv, name: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  if (!env.fly) {
    const existed = await new LocalDeployments(env, "fly").delete(name);
    return { app_name: name, deleted: true, existed };
  }
  try {
    // Without force, Fly refuses to delete an app whose machines are running.
    await client(env.fly).request(`/apps/${part(name)}`, { method: "DELETE", query: { force: true }, signal });
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
    undoneWith: "fly_delete_app",
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
    undoneWith: "fly_delete_app",
    category: "fly",
    description:
      "Deploy a Fly.io app: set secrets, give the app a public IP if it has none, update its machines " +
      "(or create the first one) with the image, and wait until they are started.",
    input: deployInput,
    run: async (input, env, signal) => deploy(env, parseToolInput("fly_deploy", deployInput, input), signal),
  },
  {
    name: "fly_get_app",
    readOnly: true,
    category: "fly",
    description: "Read a Fly.io app's status, its machines' state (started when one runs) and URL.",
    input: getAppInput,
    run: async (input, env, signal) => getApp(env, parseToolInput("fly_get_app", getAppInput, input).app_name, signal),
  },
  {
    name: "fly_list_apps",
    readOnly: true,
    category: "fly",
    description: "List the organization's Fly.io apps (name and status): what exists now.",
    input: listAppsInput,
    run: async (input, env, signal) => listApps(env, parseToolInput("fly_list_apps", listAppsInput, input).org_slug, signal),
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

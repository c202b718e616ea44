import { loadConfig, type AppConfig } from "../config.ts";
import { McpRuntime } from "../mcp/client.ts";
import { defaultMcpConfig, loadMcpConfig, type McpConfig } from "../mcp/config.ts";
import { checkPins, type PinCheck } from "../mcp/pinning.ts";
import { loadAllowLists } from "../policy.ts";
import { SecretStore } from "../secrets.ts";
import { ServerLimits } from "./limits.ts";
import type { RunContext } from "./run-step.ts";
import type { ExecutorDeps } from "./schedule.ts";

export interface RuntimeOptions {
  config: AppConfig;
  /** An `mcpServers` file; the built-in servers when absent. */
  mcpConfigPath?: string;
  mcpConfig?: McpConfig;
  /** Per-server concurrency limit (default 8). */
  concurrency?: number;
  /** The checkpointer's URL: secrets live beside it when it is Postgres. */
  checkpointerUrl?: string;
}

export interface Runtime {
  context: RunContext;
  /** Servers pinned for the first time by this connection, with their full command. */
  newlyPinned: PinCheck["newlyPinned"];
  close(): Promise<void>;
}

/** Connects the MCP servers and opens the secret store; `close()` always releases both. */
export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const mcpConfig = options.mcpConfig ?? (options.mcpConfigPath ? await loadMcpConfig(options.mcpConfigPath) : defaultMcpConfig(builtinEnv(options.config)));
  const caller = await McpRuntime.connect(mcpConfig);
  let pins: PinCheck;
  let secrets: SecretStore;
  try {
    pins = await checkPins(options.config.home, mcpConfig, caller.tools);
    secrets = await SecretStore.open(options.config.home, {
      keyHex: options.config.env.CREDIT_OPTIMIZER_SECRET_KEY,
      checkpointerUrl: options.checkpointerUrl ?? options.config.databaseUrl,
    });
  } catch (error) {
    await caller.close();
    throw error;
  }
  return {
    context: {
      caller,
      limits: new ServerLimits(options.concurrency ?? 8),
      secrets,
      allow: loadAllowLists(options.config),
      untrusted: Object.fromEntries(pins.changed.map((c) => [c.server, c.diff])),
    },
    newlyPinned: pins.newlyPinned,
    async close() {
      await secrets.close();
      await caller.close();
    },
  };
}

/**
 * The environment the built-in stdio servers get (a stdio child sees only a few variables plus
 * these): state dir, workspace, local services, provider tokens, model endpoint.
 */
export function builtinEnv(config: AppConfig): Record<string, string> {
  const env: Record<string, string> = {
    CREDIT_OPTIMIZER_HOME: config.home,
    CREDIT_OPTIMIZER_WORKSPACE: config.workspaceRoot,
  };
  for (const [key, value] of Object.entries(config.env)) {
    if (typeof value === "string" && /^(LOCAL_|NEON_|UPSTASH_|VERCEL_|FLY_|GITHUB_|OPENAI_|CREDIT_OPTIMIZER_MODEL|AGENT_ID)/.test(key)) env[key] = value;
  }
  return env;
}

/** Executor dependencies for a graph loaded without a CLI (LangGraph Studio): connect on first use. */
export function defaultExecutorDeps(): ExecutorDeps {
  let runtime: Promise<Runtime> | undefined;
  return {
    context: async () => {
      runtime ??= openRuntime({ config: loadConfig(), mcpConfigPath: loadConfig().mcpConfigPath });
      return (await runtime).context;
    },
  };
}

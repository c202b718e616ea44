import type { OrchestratorDeps } from "../../agents/deps.ts";
import { checkpointMemory } from "../../agents/memory.ts";
import { compileExecutor } from "../../graphs/executor.ts";
import { compileOrchestrator } from "../../graphs/orchestrator.ts";
import { openCheckpointer, type Checkpointer } from "../checkpoint.ts";
import type { AppConfig } from "../config.ts";
import { openLedger, type Ledger } from "../cost/ledger.ts";
import { loadCostSettings, type CostSettings } from "../cost/settings.ts";
import { ServerLimits } from "../engine/limits.ts";
import type { RunContext } from "../engine/run-step.ts";
import type { ExecutorDeps } from "../engine/schedule.ts";
import { acquireThreadLock, type ThreadLock } from "../engine/thread-lock.ts";
import { McpRuntime } from "../mcp/client.ts";
import { mcpConfigFor, type McpConfig } from "../mcp/config.ts";
import { builtinBuilds } from "../mcp/builtin-builds.ts";
import { adoptBuiltinPins } from "../mcp/builtin-pins.ts";
import { checkPins, pinnedCatalog, type PinCheck } from "../mcp/pinning.ts";
import type { WorkflowLibrary } from "../planner/index.ts";
import { runInventory } from "../planner/run-inventory.ts";
import { postgresUrl } from "../pg-url.ts";
import { loadAllowLists } from "../policy/allow.ts";
import { SecretStore } from "../secrets.ts";
import { flushBeforeExit, setupTracing, type Tracing } from "../tracing.ts";

export interface RootOptions {
  /** `sqlite:FILE` or `postgres://…`; default: DATABASE_URL, else the SQLite file in the state dir. */
  checkpointer?: string;
  /** An `mcpServers` file; the built-in servers when absent. */
  mcpConfigPath?: string;
  mcpConfig?: McpConfig;
  /** Calls at once per MCP server (default 8). */
  concurrency?: number;
  /** The per-server limits themselves (a worker's, held in Redis across workers); replaces `concurrency`. */
  limits?: ServerLimits;
  /** Replaces the configured model (tests: a scripted chat model). */
  chatModel?: OrchestratorDeps["chatModel"];
  /** Told about each MCP server pinned for the first time (its full command), when the servers connect. */
  onNewPin?(pin: PinCheck["newlyPinned"][number]): void;
  /**
   * Which servers' catalogs are read from current pins (`pinnedCatalog`) instead of listed live; such
   * a server starts only when one of its tools is called. `pinned` (plan, validate: nothing runs but
   * the preflight): every server with a current pin. Default `live`: only the built-in servers with
   * a current pin, whose code stamp says their catalog is the one pinned; every other server is
   * listed and held to its pin.
   */
  catalog?: "pinned" | "live";
  /**
   * Start connecting the MCP servers at once, before the checkpointer and the ledger open (a run
   * needs them: their start-up then overlaps everything else). Default: on first use of `context()`.
   */
  connectNow?: boolean;
}

/** Per drive: how the run is stopped and where its step events go. */
export interface RunHooks {
  stopSignal?: AbortSignal;
  cancelSignal?: AbortSignal;
  onEvent?: ExecutorDeps["onEvent"];
}

/**
 * Everything a run needs, opened once per process and closed once: the checkpointer, the ledger
 * beside it, the MCP servers with their pins, the secret store and the allow-lists, tracing, the
 * model, and the thread lock. Every way in (CLI commands, chat, resume, Studio, tests, benchmarks)
 * opens this root and drives the same orchestrator graph.
 */
export interface Root {
  config: AppConfig;
  checkpointer: Checkpointer;
  /** Where the checkpointer is (thread locks and Postgres secrets live beside it). */
  checkpointerUrl?: string;
  ledger: Ledger;
  tracing: Tracing;
  settings: CostSettings;
  /**
   * The MCP servers (connected on first use, once), with the policy gate's inputs (allow-lists, pins),
   * limits and secrets.
   */
  context(): Promise<RunContext>;
  /** Before the servers connect: use this MCP config file (`resume` reconnects a thread's own servers). */
  useMcpConfig(file: string | undefined): void;
  deps: OrchestratorDeps;
  /** The orchestrator on this root's checkpointer, with a run's stop signal and event sink. */
  graph(hooks?: RunHooks): ReturnType<typeof compileOrchestrator>;
  /** The executor graph alone (LangGraph Studio's second graph). */
  executor(hooks?: RunHooks): ReturnType<typeof compileExecutor>;
  /** One run per thread at a time, across processes. */
  lock(threadId: string): Promise<ThreadLock>;
  close(): Promise<void>;
}

export async function openRoot(config: AppConfig, options: RootOptions = {}): Promise<Root> {
  const checkpointerUrl = options.checkpointer ?? config.databaseUrl;
  const settings = loadCostSettings(config);
  const tracing = setupTracing(config, { pricing: settings.pricing });
  const opened: { close(): Promise<void> }[] = [];
  let mcpConfigPath = options.mcpConfigPath;
  let connecting: Promise<RunContext> | undefined;
  try {
    const connect = async (): Promise<RunContext> => {
      const mcpConfig = options.mcpConfig ?? (await mcpConfigFor(config, mcpConfigPath));
      const builds = await builtinBuilds(mcpConfig);
      const { pins: pinFile, adopted } = await adoptBuiltinPins(config.home, mcpConfig, builds);
      const current = pinnedCatalog(pinFile, mcpConfig, builds);
      const known = options.catalog === "pinned" ? current : Object.fromEntries(Object.entries(current).filter(([server]) => server in builds));
      const caller = await McpRuntime.connect(mcpConfig, known);
      opened.push(caller);
      // Current pins are the catalog itself: only the servers listed live are checked against theirs.
      const listed = Object.fromEntries(Object.entries(mcpConfig.mcpServers).filter(([server]) => !(server in known)));
      const pins: PinCheck = Object.keys(listed).length === 0 ? { newlyPinned: [], changed: [] } : await checkPins(config.home, { ...mcpConfig, mcpServers: listed }, caller.tools, builds);
      for (const pin of [...adopted, ...pins.newlyPinned]) options.onNewPin?.(pin);
      const secrets = await SecretStore.open(config.home, { keyHex: config.env.CREDIT_OPTIMIZER_SECRET_KEY, checkpointerUrl });
      opened.push(secrets);
      return {
        caller,
        limits: options.limits ?? new ServerLimits(options.concurrency ?? 8),
        secrets,
        allow: loadAllowLists(config),
        untrusted: Object.fromEntries(pins.changed.map((c) => [c.server, c.diff])),
      };
    };
    const context = (): Promise<RunContext> => (connecting ??= connect());
    // Whoever uses the context sees a failure to connect; started early, nobody may be waiting yet.
    if (options.connectNow) context().catch(() => {});
    const checkpointer = await openCheckpointer({ home: config.home, url: checkpointerUrl });
    opened.push(checkpointer);
    // The ledger sits beside a Postgres checkpointer; with SQLite it keeps its own file.
    const ledger = await openLedger({ home: config.home, url: postgresUrl(checkpointerUrl) });
    opened.push(ledger);
    const deps: OrchestratorDeps = {
      config,
      memory: checkpointMemory(checkpointer.saver),
      library: loadWorkflowLibrary,
      // "back up the billing database": what earlier runs made and did not delete, from the ledger's runs and their checkpoints.
      inventory: runInventory({ ledger, saver: checkpointer.saver }).lookup,
      // The OpenAI client loads only when a model is configured (the catalog planner needs none).
      chatModel: options.chatModel ?? (config.model ? (await import("./chat-models.ts")).configuredChatModel(config, settings) : undefined),
      pricing: settings.pricing,
      ledger,
      // The drive's CostCallbackHandler records each model call as it happens.
      recordModelCalls: false,
      context,
    };
    return {
      config,
      checkpointer,
      checkpointerUrl,
      ledger,
      tracing,
      settings,
      context,
      useMcpConfig(file) {
        if (connecting) throw new Error("the MCP servers are already connected");
        mcpConfigPath = file;
      },
      deps,
      graph: (hooks = {}) => compileOrchestrator({ ...deps, ...hooks }, checkpointer.saver),
      executor: (hooks = {}) => compileExecutor({ context: deps.context, ...hooks }, checkpointer.saver),
      lock: (threadId) => acquireThreadLock({ home: config.home, url: checkpointerUrl }, threadId),
      async close() {
        await connecting?.catch(() => {});
        await flushBeforeExit(tracing);
        for (const resource of opened.reverse()) await resource.close();
      },
    };
  } catch (error) {
    // Servers that were starting are closed with the rest, not left running.
    await connecting?.catch(() => {});
    for (const resource of opened.reverse()) await resource.close().catch(() => {});
    throw error;
  }
}

/** The library lives in src/workflows (loaded on first use: the CLI's --help never pays for it). */
export async function loadWorkflowLibrary(): Promise<WorkflowLibrary> {
  const { workflows, instantiate } = await import("../workflows/index.ts");
  return { workflows, instantiate };
}

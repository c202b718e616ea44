import { setMaxListeners } from "node:events";
import { loadConfig } from "../config.ts";
import { isUsageError } from "./args.ts";

const HELP = `credit-optimizer — plan, forecast and run infrastructure workflows as parallel DAGs of MCP tool calls

Usage:
  credit-optimizer run "<request>" [--yes] [--allow-destructive] [--dry-run] [--json] [--budget USD] [--fresh] [--session NAME]
  credit-optimizer plan "<request>" [--json]
  credit-optimizer chat [--session NAME] [--budget USD]
  credit-optimizer run --plan <plan.json> [--param k=v] [--scheduler asap|waves] [--thread ID] [--json] [--allow-destructive]
  credit-optimizer run --workflow <id> [--param k=v] [--scheduler asap|waves] [--thread ID] [--json] [--allow-destructive]
  credit-optimizer resume <thread> [--approve | --reject] [--json]
  credit-optimizer validate <plan.json> [--param k=v]
  credit-optimizer workflows [show <id>]
  credit-optimizer costs [--since 7d] [--by agent|tool|model|run] [--json]
  credit-optimizer doctor [--json]
  credit-optimizer serve thinking|toolkit|workspace [--http PORT]
  credit-optimizer mcp-config --agents coding,db,deploy,redis [--out mcp.json]
  credit-optimizer mcp list | mcp trust <server>

Options for runs: --mcp-config mcp.json (MCP servers; the built-in ones by default),
  --checkpointer sqlite:FILE|postgres://… (default: .credit-optimizer/checkpoints.sqlite, or DATABASE_URL),
  --concurrency N (calls at once per MCP server, default 8).

Environment: OPENAI_API_KEY / OPENAI_BASE_URL / CREDIT_OPTIMIZER_MODEL (a model for the architect;
  the offline catalog planner without one), CREDIT_OPTIMIZER_STRUCTURED_OUTPUT, CREDIT_OPTIMIZER_HOME,
  DATABASE_URL, CREDIT_OPTIMIZER_DAILY_CAP_USD / _MONTHLY_CAP_USD / _APPROVAL_USD, CREDIT_OPTIMIZER_CONFIG_FILE,
  LANGSMITH_TRACING / LANGSMITH_API_KEY / LANGSMITH_ENDPOINT, NEON_API_KEY, UPSTASH_EMAIL + UPSTASH_API_KEY,
  VERCEL_TOKEN, FLY_API_TOKEN, GITHUB_TOKEN (cloud providers; the local provider without them),
  LOCAL_POSTGRES_URL (\`embedded\` for the embedded Postgres, used anyway when the default one does not answer),
  LOCAL_REDIS_URL.

--yes approves a budget, not destruction: steps that delete or drop things also need --allow-destructive
(or a person's approval).

Exit codes: 0 succeeded, 1 run failed (rolled back or not), 2 invalid input, 3 waiting for approval.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  validate: async (argv) => (await import("./run.ts")).validateCommand(argv, loadConfig(), (await import("./run.ts")).consoleIo),
  run: async (argv) => {
    const run = await import("./run.ts");
    if (argv.includes("--plan")) return run.runPlanCommand(argv, loadConfig(), run.consoleIo);
    if (argv.includes("--workflow")) return (await import("./workflows.ts")).runWorkflowCommand(argv, loadConfig(), run.consoleIo);
    const { requestCommand } = await import("./request.ts");
    return requestCommand("run", argv, loadConfig(), run.consoleIo);
  },
  plan: async (argv) => {
    const run = await import("./run.ts");
    const { requestCommand } = await import("./request.ts");
    return requestCommand("plan", argv, loadConfig(), run.consoleIo);
  },
  resume: async (argv) => (await import("./request.ts")).resumeRequestCommand(argv, loadConfig(), (await import("./run.ts")).consoleIo),
  serve: async (argv) => {
    const [name, ...rest] = argv;
    if (name !== "thinking" && name !== "toolkit" && name !== "workspace") {
      process.stderr.write(`serve needs a server name: thinking, toolkit or workspace (got ${name ?? "nothing"})\n`);
      return 2;
    }
    const mod = (await import(`../servers/${name}/index.ts`)) as {
      serveFromArgs(argv: string[], config: ReturnType<typeof loadConfig>): Promise<{ url?: string; close(): Promise<void> }>;
    };
    const server = await mod.serveFromArgs(rest, loadConfig());
    if (server.url) process.stderr.write(`${name} MCP server listening on ${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      if (!server.url) process.stdin.once("close", resolve);
    });
    await server.close();
    return 0;
  },
  mcp: async (argv) => (await import("./mcp.ts")).mcpCommand(argv, loadConfig(), (await import("./run.ts")).consoleIo),
  "mcp-config": async (argv) => (await import("./mcp-config.ts")).mcpConfigCommand(argv),
  chat: async (argv) => (await import("./chat.ts")).chatCommand(argv, loadConfig(), (await import("./run.ts")).consoleIo),
  workflows: async (argv) => (await import("./workflows.ts")).workflowsCommand(argv, loadConfig(), (await import("./run.ts")).consoleIo),
  costs: async (argv) => (await import("./costs.ts")).costsCommand(argv, loadConfig(), (await import("./run.ts")).consoleIo),
  doctor: async (argv) => (await import("./doctor.ts")).doctorCommand(argv, loadConfig(), (await import("./io.ts")).stdIo),
};

/** Runs one command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // LangGraph adds one abort listener per running task to the run's signal: a wide plan has many.
  setMaxListeners(0);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${HELP}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (isUsageError(error)) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    const code = (error as { code?: unknown }).code;
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ["PLAN_INVALID", "MCP_CONFIG_INVALID", "INVALID_ARGS", "THREAD_BUSY"].includes(String(code)) ? 2 : 1;
  }
}

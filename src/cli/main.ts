import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { loadConfig, type AppConfig } from "../config.ts";
import { SCHEDULER_WAVES_GONE } from "./args.ts";
import { failureExitCode } from "./failure.ts";
import { consoleIo, EXIT, EXIT_HELP, type Io } from "./io.ts";

const ENVIRONMENT = `Environment: OPENAI_API_KEY / OPENAI_BASE_URL / CREDIT_OPTIMIZER_MODEL (a model for the architect;
  the offline catalog planner without one), CREDIT_OPTIMIZER_STRUCTURED_OUTPUT, CREDIT_OPTIMIZER_HOME,
  DATABASE_URL, CREDIT_OPTIMIZER_QUEUE (run and resume go to workers), CREDIT_OPTIMIZER_DAILY_CAP_USD / _MONTHLY_CAP_USD / _APPROVAL_USD, CREDIT_OPTIMIZER_CONFIG_FILE,
  LANGSMITH_TRACING / LANGSMITH_API_KEY / LANGSMITH_ENDPOINT, NEON_API_KEY, UPSTASH_EMAIL + UPSTASH_API_KEY,
  VERCEL_TOKEN, FLY_API_TOKEN, GITHUB_TOKEN (cloud providers; the local provider without them),
  LOCAL_POSTGRES_URL (\`embedded\` for the embedded Postgres, used anyway when the default one does not answer),
  LOCAL_REDIS_URL.`;

const APPROVALS = `--yes approves a budget in every form of run; calls that may destroy data also need
--allow-destructive or a person's approval (asked on a terminal, in chat, or with resume --approve).`;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--scheduler`: asap or graph; `waves` was removed and says what to use instead. */
function schedulerFlag(value: string): string {
  if (value === "asap" || value === "graph") return value;
  throw new InvalidArgumentError(value === "waves" ? SCHEDULER_WAVES_GONE : "Allowed choices are asap, graph.");
}

/** The options every command that runs or reads runs shares. */
function stateOptions(command: Command): Command {
  return command
    .option("--mcp-config <file>", "MCP servers (an mcpServers JSON file; the built-in ones by default)")
    .option("--checkpointer <url>", "sqlite:FILE or postgres://… (default: .credit-optimizer/checkpoints.sqlite, or DATABASE_URL)")
    .option("--concurrency <n>", "calls at once per MCP server (default 8)");
}

function runOptions(command: Command): Command {
  return stateOptions(command)
    .option("--param <key=value>", "a plan parameter (repeatable; JSON values keep their type)", collect)
    .option("-y, --yes", "approve the budget without asking")
    .option("--allow-destructive", "let calls that may destroy data run without asking")
    .option("--json", "print the report (for plan: the plan) as JSON")
    .option("--budget <usd>", "this run's budget in USD")
    .option("--fresh", "plan anew even when the plan cache holds this request")
    .option("--session <name>", "a chat session whose agents' memory this run shares")
    .option("--thread <id>", "the thread id (default: a new one)")
    .addOption(new Option("--scheduler <name>", "how the DAG runs: asap (default), or graph (the plan as its own graph, one node per step)").argParser(schedulerFlag));
}

/** The command line: one flag table per command, `--help` generated per command. */
export function buildProgram(config: () => AppConfig, io: Io, setExit: (code: number) => void): Command {
  const program = new Command()
    .name("credit-optimizer")
    .description("Plan, forecast and run infrastructure workflows as parallel DAGs of MCP tool calls")
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ writeOut: (t) => io.out(t.trimEnd()), writeErr: (t) => io.err(t.trimEnd()) })
    .exitOverride()
    .addHelpText("after", `\n${APPROVALS}\n\n${ENVIRONMENT}\n\n${EXIT_HELP}`);
  const done = async (code: Promise<number>): Promise<void> => setExit(await code);

  runOptions(program.command("run").argument("[request...]", "what to do, in plain language").description("plan, forecast and run a request, a plan file or a workflow"))
    .option("--plan <file>", "run this plan (JSON) instead of planning a request")
    .option("--workflow <id>", "run this workflow template (see: credit-optimizer workflows)")
    .option("--dry-run", "stop after the forecast")
    .option("--break-before <steps>", "pause before these steps (comma-separated, repeatable; runs the graph scheduler): see each one's inputs, then go on or stop", collect)
    .option("--queue <url>", "queue the run for the workers (redis://HOST:PORT[?queue=NAME]; default CREDIT_OPTIMIZER_QUEUE) and print its thread id")
    .option("--wait", "with --queue: follow the run to its end (same output and exit codes as a local run)")
    .action(async (words: string[], options) => {
      const appConfig = config();
      const { withServersStarting } = await import("./start-servers.ts");
      await done(withServersStarting(appConfig, { ...options, words }, async () => (await import("./run.ts")).runCommand("run", words, options, appConfig, io)));
    });

  runOptions(program.command("plan").argument("<request...>", "what to do, in plain language").description("plan and forecast a request; nothing runs (--json prints the plan for run --plan)"))
    .action(async (words: string[], options) => done((await import("./run.ts")).runCommand("plan", words, options, config(), io)));

  stateOptions(program.command("resume").argument("<thread>").description("continue a thread: answer its question, go on after a kill, re-run a stopped run"))
    .option("--approve", "approve what the run waits for")
    .option("--reject", "decline what the run waits for (a run waiting mid-way rolls back)")
    .option("--json", "print the report as JSON")
    .option("--queue <url>", "queue the continuation for the workers (default CREDIT_OPTIMIZER_QUEUE)")
    .option("--wait", "with --queue: follow it to its end")
    .action(async (thread: string, options) => done((await import("./run.ts")).resumeCommand(thread, options, config(), io)));

  program
    .command("worker")
    .description("take runs from the queue and drive them (Postgres checkpointer); SIGTERM: no new runs, hand back what is held")
    .option("--queue <url>", "the run queue: redis://HOST:PORT[?queue=NAME] (default CREDIT_OPTIMIZER_QUEUE)")
    .option("--concurrency <n>", "runs at once on this worker (default 4)")
    .option("--server-limit <n|server=n>", "calls at once per MCP server across all workers: the queue's, set by its first worker (default 8; repeatable, per server)", collect)
    .option("--grace-ms <ms>", "on SIGTERM, how long held runs may finish before they are handed back (default 30000)")
    .option("--lock-ms <ms>", "job lock: a dead worker's runs move to another worker after about twice this (default 30000)")
    .option("--name <name>", "this worker's name in runs (default host:pid)")
    .option("--mcp-config <file>", "MCP servers (an mcpServers JSON file; the built-in ones by default)")
    .option("--checkpointer <url>", "postgres://… (default DATABASE_URL)")
    .action(async (options) => done((await import("./worker.ts")).workerCommand(options, config(), io)));

  program
    .command("runs")
    .description("the queue's runs across all workers: thread, status, worker, started, cost, waiting for approval")
    .option("--queue <url>", "the run queue (default CREDIT_OPTIMIZER_QUEUE)")
    .option("--status <status>", "only these: queued, running, waiting_for_approval, succeeded, failed, … (repeatable, or comma-separated)", collect)
    .option("--json", "as JSON")
    .action(async (options) => done((await import("./runs.ts")).runsCommand(options, config(), io)));

  stateOptions(program.command("chat").description("an interactive session; the agents remember it across restarts"))
    .option("--session <name>", "the session's name", "default")
    .option("--budget <usd>", "each run's budget in USD")
    .option("-y, --yes", "run each plan without asking first and approve budgets, as run --yes (steps start while the plan streams); \":ask\" / \":auto\" toggle it in the chat")
    .option("--history", "print the session's turns (request → plan or why not) and exit")
    .action(async (options) => done((await import("./chat.ts")).chatCommand(options, config(), io)));

  stateOptions(program.command("validate").argument("<plan>", "a plan JSON file").description("check a plan without running it: problems, implied edges, what needs approval"))
    .option("--param <key=value>", "a plan parameter (repeatable)", collect)
    .action(async (file: string, options) => done((await import("./run.ts")).validateCommand(file, options, config(), io)));

  stateOptions(program.command("ui").description("the local viewer: runs, a run's live DAG, timeline and costs, approvals (http://127.0.0.1)"))
    .option("--port <n>", "port (default: a free one)")
    .option("--host <address>", "address to listen on (default 127.0.0.1; any other needs a token: CREDIT_OPTIMIZER_UI_TOKEN, else one is printed)")
    .option("--open", "open it in the browser")
    .action(async (options) => done((await import("./ui.ts")).uiCommand(options, config(), io)));

  program
    .command("workflows")
    .argument("[show]")
    .argument("[id]")
    .description("list the workflow templates, or show one (workflows show <id>)")
    .option("--json", "as JSON")
    .action(async (sub: string | undefined, id: string | undefined, options) => done((await import("./workflows.ts")).workflowsCommand(sub, id, options, config(), io)));

  program
    .command("costs")
    .description("spend, breakdown, forecast accuracy and spend per day, from the ledger")
    .option("--since <when>", "30m, 24h, 7d, 2w or a date", "7d")
    .addOption(new Option("--by <dimension>", "breakdown").choices(["agent", "tool", "model", "run"]).default("agent"))
    .option("--json", "as JSON")
    .option("--ledger <url>", "sqlite:FILE or postgres://… (default: beside the checkpointer)")
    .action(async (options) => done((await import("./costs.ts")).costsCommand(options, config(), io)));

  program
    .command("resources")
    .description("what earlier runs created and what still exists: kind, name, id, the run that made it")
    .option("--json", "as JSON")
    .option("--check", "ask the providers' list tools what still exists (exit 1 when one is gone at its provider)")
    .option("--checkpointer <url>", "sqlite:FILE or postgres://… (default: .credit-optimizer/checkpoints.sqlite, or DATABASE_URL)")
    .option("--mcp-config <file>", "MCP servers (the built-in ones by default)")
    .action(async (options) => done((await import("./resources.ts")).resourcesCommand(options, config(), io)));

  program
    .command("serve")
    .argument("<server>", "thinking, toolkit or workspace")
    .argument("[args...]", "the server's own flags, e.g. --http PORT")
    .description("run a built-in MCP server over stdio (or --http PORT)")
    .passThroughOptions()
    .allowUnknownOption()
    .helpOption(false)
    .action(async (name: string, args: string[]) => done((await import("./serve.ts")).serveCommand(name, args, config(), io)));

  program
    .command("mcp-config")
    .description("write an mcpServers config with one thinking-tools instance per agent")
    .requiredOption("--agents <list>", "comma-separated agent names, e.g. coding,db,deploy,redis")
    .option("--out <file>", "merge into this file (other servers are kept); stdout when absent")
    .option("--env <KEY=VALUE>", "environment for every generated server (repeatable)", collect)
    .action(async (options) => done((await import("./mcp-config.ts")).mcpConfigCommand(options, io)));

  program
    .command("doctor")
    .description("what this machine has for a run (services, tools, tokens by name, MCP servers), each problem with its fix")
    .option("--json", "as JSON")
    .action(async (options) => done((await import("./doctor.ts")).doctorCommand(options, config(), io)));

  program
    .command("smoke")
    .description("check a cloud account with your own token: create, read and delete one small resource")
    .requiredOption("--provider <name>", "neon, upstash, vercel, fly, github or all (repeatable)", collect)
    .action(async (options: { provider: string[] }) => done((await import("./smoke.ts")).smokeCommand(options.provider, config(), io)));

  const mcp = program.command("mcp").description("the configured MCP servers and their pins");
  mcp
    .command("list")
    .description("each server, the command it runs, whether its tools are pinned, and how unannotated tools are judged")
    .option("--check", "connect to each server and say whether its live tools still match the pin (exit 1 if not)")
    .option("--mcp-config <file>", "MCP servers (the built-in ones by default)")
    .action(async (options) => done((await import("./mcp.ts")).mcpListCommand(options, config(), io)));
  mcp
    .command("trust")
    .argument("<server>")
    .description("connect to a server, show what changed since it was pinned, and pin its current tools")
    .option("--mcp-config <file>", "MCP servers (the built-in ones by default)")
    .action(async (server: string, options) => done((await import("./mcp.ts")).mcpTrustCommand(server, options, config(), io)));

  return program;
}

/** Runs one command line; returns the process exit code. */
export async function main(argv: string[], io: Io = consoleIo, config: () => AppConfig = loadConfig): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(config, io, (c) => (code = c));
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.badInput;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    return failureExitCode(error, io);
  }
}

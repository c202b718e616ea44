/**
 * CLI timings: `--help`, a dry run of the RAD request, and request → first step started; plus the
 * architect's token use for the RAD request, counted by an OpenAI-compatible stand-in (o200k_base
 * tokens of what it receives and of the plan it returns).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "../src/cost/stats.ts";
import { freePort } from "../src/servers/toolkit/providers/local/processes-launch.ts";
import { instantiate, getWorkflow } from "../src/workflows/index.ts";
import { startOpenAIStub, type StubRequest, type StubReply } from "../tests/helpers/openai-stub.ts";

const BIN = fileURLToPath(new URL("../bin/credit-optimizer.js", import.meta.url));
const RAD = "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis";

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from spawn until `marker` first appeared on stderr. */
  markerMs?: number;
  /** User + system CPU ms of the process and the children it waited for, when /usr/bin/time is there to count it. */
  cpuMs?: number;
}

/**
 * GNU time counts a process's CPU: on a shared, loaded machine wall time mostly measures the others,
 * CPU time what this process did.
 */
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

function timedCpu(argv: string[]): { command: string; argv: string[]; read(): number | undefined } {
  if (!GNU_TIME) return { command: process.execPath, argv, read: () => undefined };
  const file = path.join(tmpdir(), `co-bench-cpu-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return {
    command: GNU_TIME,
    argv: ["-f", "%U %S", "-o", file, process.execPath, ...argv],
    read() {
      try {
        const [user, system] = readFileSync(file, "utf8").trim().split(/\s+/).slice(-2).map(Number);
        rmSync(file, { force: true });
        return Math.round(((user ?? 0) + (system ?? 0)) * 1000);
      } catch {
        return undefined;
      }
    },
  };
}

function time(args: string[], env: Record<string, string>, marker?: string, argv: string[] = [BIN, ...args]): Promise<Timed> {
  const cpu = timedCpu(argv);
  const started = performance.now();
  const child = spawn(cpu.command, cpu.argv, { env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let markerMs: number | undefined;
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (marker && markerMs === undefined && stderr.includes(marker)) markerMs = Math.round(performance.now() - started);
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ ms: Math.round(performance.now() - started), code, stdout, stderr, markerMs, cpuMs: cpu.read() })));
}

function freshHome(): string {
  return mkdtempSync(path.join(tmpdir(), "co-bench-"));
}

function stopDeploys(home: string): void {
  for (const kind of ["vercel", "fly"]) {
    const file = path.join(home, "toolkit", "deploys", `${kind}.json`);
    if (!existsSync(file)) continue;
    const registry = JSON.parse(readFileSync(file, "utf8")) as { projects?: Record<string, { deployment?: { pid: number } }> };
    for (const p of Object.values(registry.projects ?? {})) {
      try {
        if (p.deployment) process.kill(-p.deployment.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/**
 * A token counter: o200k_base (the gpt-4o family's encoding) from js-tiktoken, which ships its ranks
 * (no download); ⌈characters / 4⌉ if it cannot be loaded.
 */
async function tokenCounter(): Promise<{ count(text: string): number; method: string }> {
  try {
    const specifier = "js-tiktoken/lite";
    const ranksSpecifier = "js-tiktoken/ranks/o200k_base";
    const { Tiktoken } = (await import(specifier)) as { Tiktoken: new (ranks: unknown) => { encode(text: string): number[] } };
    const ranks = ((await import(ranksSpecifier)) as { default: unknown }).default;
    const encoder = new Tiktoken(ranks);
    return { count: (text) => encoder.encode(text).length, method: "o200k_base (js-tiktoken): message contents + 4 per message, plus the tool definitions as JSON" };
  } catch {
    return { count: (text) => Math.ceil(text.length / 4), method: "⌈characters / 4⌉ of message contents and tool definitions" };
  }
}

function promptTokens(body: Record<string, unknown>, count: (text: string) => number): number {
  const messages = (body["messages"] as { content?: unknown }[] | undefined) ?? [];
  const text = messages.reduce((sum, m) => sum + 4 + count(typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "")), 0);
  return text + (body["tools"] ? count(JSON.stringify(body["tools"])) : 0);
}

/** Medians of `runs` alternating timings of each variant, so load drifts hit every variant alike. */
async function compare(runs: number, variants: Record<string, () => Promise<Timed>>): Promise<Record<string, Timed[]>> {
  const out: Record<string, Timed[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) for (const [name, run] of Object.entries(variants)) out[name]!.push(await run());
  return out;
}

/**
 * Start-up and planning against bare Node, in one run: `before` is the sources through tsx with
 * no pins (every server started, through tsx, to list its tools), `after` the compiled build with
 * current pins (the catalog read from disk; only a server whose preflight tool the plan needs
 * starts). Figures are quoted as ratios to `node -e 0`.
 */
async function frontFigures(runs: number): Promise<Record<string, unknown>> {
  const ok = (r: Timed, what: string): Timed => {
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
    return r;
  };
  const sources = { CREDIT_OPTIMIZER_FROM_SOURCES: "1" };
  const warm = freshHome();
  ok(await time(["plan", RAD], { CREDIT_OPTIMIZER_HOME: warm }), "warming plan (writes the pins)");
  const planBefore = async (): Promise<Timed> => {
    const home = freshHome();
    try {
      return ok(await time(["plan", RAD], { CREDIT_OPTIMIZER_HOME: home, ...sources }), "plan (sources, no pins)");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  // validate: a 6-step plan (the RAD request's, written by plan --json) with the pins current.
  const planFile = path.join(warm, "rad-plan.json");
  const written = ok(await time(["plan", RAD, "--json"], { CREDIT_OPTIMIZER_HOME: warm }), "plan --json");
  writeFileSync(planFile, written.stdout);
  const radRun = async (): Promise<Timed & { makespanMs: number }> => {
    const home = freshHome();
    try {
      const r = ok(await time(["run", RAD, "--yes"], { CREDIT_OPTIMIZER_HOME: home }, "▶ "), "run (RAD)");
      const makespan = /makespan (\d+) ms/.exec(r.stdout);
      if (!makespan || r.markerMs === undefined) throw new Error(`run printed no makespan or first step: ${r.stdout}`);
      return { ...r, makespanMs: Number(makespan[1]) };
    } finally {
      stopDeploys(home);
      rmSync(home, { recursive: true, force: true });
    }
  };
  const samples = await compare(runs, {
    bareNode: async () => ok(await time([], {}, undefined, ["-e", "0"]), "node -e 0"),
    helpBefore: async () => ok(await time(["--help"], sources), "--help (sources)"),
    helpAfter: async () => ok(await time(["--help"], {}), "--help"),
    planBefore,
    planAfter: async () => ok(await time(["plan", RAD], { CREDIT_OPTIMIZER_HOME: warm }), "plan (pins current)"),
    validate: async () => ok(await time(["validate", planFile], { CREDIT_OPTIMIZER_HOME: warm }), "validate (pins current)"),
  });
  // The full offline RAD run (servers started, resources made and deployed locally): fewer runs, it is slow.
  const runs_ = [] as (Timed & { makespanMs: number })[];
  const bareAround: number[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
    bareAround.push(ok(await time([], {}, undefined, ["-e", "0"]), "node -e 0").ms);
    runs_.push(await radRun());
  }
  const studio = await studioStart();
  rmSync(warm, { recursive: true, force: true });
  const wall = (name: string): number[] => samples[name]!.map((t) => t.ms);
  const cpu = (name: string): number[] => samples[name]!.flatMap((t) => (t.cpuMs === undefined ? [] : [t.cpuMs]));
  const bare = median([...wall("bareNode"), ...bareAround]);
  const bareCpu = cpu("bareNode").length > 0 ? median(cpu("bareNode")) : undefined;
  const ofValues = (values: number[]): Record<string, unknown> => ({ medianMs: median(values), ratioToBareNode: Number((median(values) / bare).toFixed(2)), runs: values });
  const figure = (name: string): Record<string, unknown> => {
    const c = cpu(name).length > 0 ? median(cpu(name)) : undefined;
    return {
      ...ofValues(wall(name)),
      ...(c !== undefined && bareCpu ? { cpuMedianMs: c, cpuRatioToBareNode: Number((c / bareCpu).toFixed(2)) } : {}),
    };
  };
  return {
    bareNodeMs: { median: bare, ...(bareCpu !== undefined ? { cpuMedian: bareCpu } : {}), runs: [...wall("bareNode"), ...bareAround] },
    cpuNote: "cpu: user+system of the CLI process and of the children it waited for (the MCP servers it started)",
    help: { before: figure("helpBefore"), after: figure("helpAfter"), goalRatio: 3 },
    planRad: { before: figure("planBefore"), after: figure("planAfter"), goalRatio: 8 },
    validateSixSteps: { ...figure("validate"), goalRatio: 8 },
    radRunFirstStepStarted: { ...ofValues(runs_.map((r) => r.markerMs!)), goalRatio: 10 },
    radRunWallMinusMakespan: { ...ofValues(runs_.map((r) => r.ms - r.makespanMs)), goalRatio: 12, makespansMs: runs_.map((r) => r.makespanMs), wallMs: runs_.map((r) => r.ms) },
    langgraphDevToOk: studio.ms === undefined ? studio : { ...ofValues([studio.ms]), note: "report only: langgraphjs dev (Studio's server) from spawn to GET /ok answering 200" },
    load: loadAverage(),
  };
}

function loadAverage(): number[] {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/** `langgraphjs dev` (LangGraph Studio's local server) from spawn until `/ok` answers. */
async function studioStart(): Promise<{ ms?: number; error?: string }> {
  const port = await freePort();
  const cli = fileURLToPath(new URL("../node_modules/.bin/langgraphjs", import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url));
  const started = performance.now();
  const child = spawn(cli, ["dev", "--no-browser", "--port", String(port)], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", LANGGRAPH_CLI_NO_ANALYTICS: "1", CREDIT_OPTIMIZER_HOME: freshHome() },
    stdio: "ignore",
    detached: true,
  });
  try {
    for (;;) {
      if (performance.now() - started > 120_000) return { error: "no answer on /ok within 120 s" };
      if (child.exitCode !== null) return { error: `langgraphjs dev exited with ${child.exitCode}` };
      const answered = await fetch(`http://127.0.0.1:${port}/ok`).then((r) => r.ok, () => false);
      if (answered) return { ms: Math.round(performance.now() - started) };
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }
}

export async function benchFront(): Promise<Record<string, unknown>> {
  return frontFigures(5);
}

export async function benchCli(): Promise<Record<string, unknown>> {
  const front = await frontFigures(5);
  const help: number[] = [];
  for (let i = 0; i < 5; i++) help.push((await time(["--help"], {})).ms);

  const dry: number[] = [];
  for (let i = 0; i < 3; i++) {
    const home = freshHome();
    const r = await time(["run", RAD, "--dry-run", "--json"], { CREDIT_OPTIMIZER_HOME: home });
    if (r.code !== 0) throw new Error(`dry run failed (${r.code}): ${r.stderr}`);
    dry.push(r.ms);
    rmSync(home, { recursive: true, force: true });
  }

  const firstStep: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < 3; i++) {
    const home = freshHome();
    const r = await time(["run", RAD, "--yes"], { CREDIT_OPTIMIZER_HOME: home }, "▶ ");
    stopDeploys(home);
    if (r.code !== 0 || r.markerMs === undefined) throw new Error(`run failed (${r.code}): ${r.stderr}`);
    firstStep.push(r.markerMs);
    total.push(r.ms);
  }

  // The architect with a model: what it sends for the RAD request, counted by the stand-in.
  const plan = instantiate(getWorkflow("rad-crawler-setup")!, {});
  const counted: { prompt: number; completion: number; promptChars: number }[] = [];
  const tokens = await tokenCounter();
  const stub = await startOpenAIStub((request: StubRequest): StubReply => {
    const args = JSON.stringify(plan);
    const usage = { prompt_tokens: promptTokens(request.body, tokens.count), completion_tokens: tokens.count(args) };
    counted.push({ prompt: usage.prompt_tokens, completion: usage.completion_tokens, promptChars: JSON.stringify(request.body["messages"]).length });
    return { toolCalls: [{ name: "plan", arguments: plan }], usage };
  });
  const home = freshHome();
  const withModel = await time(["plan", RAD, "--json"], { CREDIT_OPTIMIZER_HOME: home, OPENAI_BASE_URL: stub.baseUrl, OPENAI_API_KEY: "sk-bench" });
  await stub.close();
  if (withModel.code !== 0) throw new Error(`model plan failed (${withModel.code}): ${withModel.stderr}`);
  const report = JSON.parse(withModel.stdout) as { usage: { input_tokens: number; output_tokens: number }[] };

  return {
    front,
    helpMs: { median: median(help), runs: help },
    dryRunMs: { median: median(dry), runs: dry },
    requestToFirstStepMs: { median: median(firstStep), runs: firstStep },
    radRunTotalMs: { median: median(total), runs: total },
    architectTokensRad: {
      calls: counted.length,
      promptTokens: counted[0]?.prompt,
      completionTokens: counted[0]?.completion,
      promptChars: counted[0]?.promptChars,
      reportedByRun: report.usage,
      method: tokens.method,
    },
  };
}

import { constants, existsSync } from "node:fs";
import { access, lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config.ts";
import { findExecutable } from "../find-executable.ts";
import { defaultMcpConfig, loadMcpConfig, type McpConfig, type ServerConfig } from "../mcp/config.ts";
import { commandLine, readPins } from "../mcp/pinning.ts";
import { gitStatus, type ServiceStatus } from "../servers/preflight.ts";
import { toolkitEnvFromConfig } from "../servers/toolkit/env.ts";
import { maskSecrets } from "../secrets.ts";
import { postgresStatus, redisStatus } from "../servers/toolkit/providers/local/availability.ts";
import { tracingEnabled } from "../tracing-enabled.ts";
import { buildStateModule, PACKAGE_ROOT, RUNNING_COMPILED } from "../package-root.ts";

/*
 * What `doctor` looks at, each check cheap and bounded (a TCP connect, one HTTP request with a
 * timeout, a look at the PATH or a folder), all at once. Values never hold a secret: keys and
 * tokens are named, not shown, and URLs are masked.
 */

export type DoctorStatus = "ok" | "info" | "warn" | "fail";

export interface DoctorRow {
  check: string;
  status: DoctorStatus;
  /** What was found, one line. */
  value: string;
  /** What to do, when the status is warn or fail. */
  fix?: string;
}

export interface DoctorReport {
  /** False when any row failed. */
  ok: boolean;
  rows: DoctorRow[];
  durationMs: number;
}

export interface DoctorOptions {
  /** Timeout of each network probe (default 1 s), so the whole report stays within about 2 s. */
  probeTimeoutMs?: number;
}

/** The oldest Node that runs the build: its CommonJS bundles require ES modules (Node 20.19). */
const MIN_NODE: readonly [number, number] = [20, 19];
const PROVIDER_TOKENS = ["NEON_API_KEY", "UPSTASH_EMAIL", "UPSTASH_API_KEY", "VERCEL_TOKEN", "FLY_API_TOKEN", "GITHUB_TOKEN"] as const;
const CHROMIUM = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
/** The state folder's size is summed over at most this many entries (it says so when cut). */
const SIZE_ENTRY_LIMIT = 50_000;

export async function runDoctor(config: AppConfig, options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = Date.now();
  const timeoutMs = options.probeTimeoutMs ?? 1_000;
  const toolkit = toolkitEnvFromConfig(config);
  const rows = await Promise.all([
    nodeRow(),
    buildRow(),
    postgresStatus(toolkit, timeoutMs).then((s) => fromStatus("postgres", s)),
    redisStatus(toolkit, timeoutMs).then((s) => fromStatus("redis", s)),
    gitStatus({ searchPath: config.env.PATH }).then((s) => fromStatus("git", s)),
    chromiumRow(config),
    modelRow(config, timeoutMs),
    langsmithRow(config),
    providersRow(config),
    mcpRows(config, timeoutMs),
    stateRow(config),
  ]);
  const flat = rows.flat();
  return { ok: flat.every((r) => r.status !== "fail"), rows: flat, durationMs: Date.now() - started };
}

function fromStatus(check: string, status: ServiceStatus): DoctorRow {
  return status.ok ? { check, status: "ok", value: `${status.kind}: ${status.detail}` } : { check, status: "fail", value: `${status.kind}: ${status.detail}`, fix: status.fix };
}

async function nodeRow(): Promise<DoctorRow> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const needed = MIN_NODE.join(".");
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])
    ? { check: "node", status: "ok", value: `${process.version} (needs >= ${needed})` }
    : { check: "node", status: "fail", value: `${process.version}`, fix: `install Node.js ${needed} or newer` };
}

/**
 * The launcher's own judgement (bin/build-state.js, loaded from the package root so it is the same
 * file from the sources and from dist/): which code the CLI and the built-in servers run.
 */
async function buildRow(): Promise<DoctorRow> {
  const { buildState } = await buildStateModule();
  const build = buildState(PACKAGE_ROOT);
  const running = RUNNING_COMPILED ? "this process runs dist/" : "this process runs the sources through tsx";
  if (build.state === "absent") return { check: "build", status: "info", value: `no compiled build: the CLI runs the TypeScript sources through tsx (slower start) — ${running}`, fix: "npm run build" };
  if (build.state === "stale") return { check: "build", status: "warn", value: `dist/ is older than ${build.newer}: the CLI runs the sources through tsx until it is rebuilt — ${running}`, fix: "npm run build (or reinstall the package)" };
  return { check: "build", status: "ok", value: `dist/ is current (built ${new Date(build.builtAt!).toISOString()}) — ${running}` };
}

async function chromiumRow(config: AppConfig): Promise<DoctorRow> {
  for (const name of CHROMIUM) {
    const found = await findExecutable(name, config.env.PATH);
    if (found) return { check: "chromium", status: "ok", value: found };
  }
  return {
    check: "chromium",
    status: "warn",
    value: "not found (only the viewer's browser tests and screenshots need it)",
    fix: "install it (Debian/Ubuntu: sudo apt-get install -y chromium; macOS: brew install --cask chromium)",
  };
}

async function modelRow(config: AppConfig, timeoutMs: number): Promise<DoctorRow> {
  const model = config.model;
  if (!model) return { check: "model", status: "info", value: "none configured: the offline catalog planner plans runs (set OPENAI_API_KEY or OPENAI_BASE_URL for a model)" };
  const base = (model.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const where = `${model.name} at ${maskSecrets(base, model.apiKey ? [model.apiKey] : [])}`;
  try {
    const response = await fetch(`${base}/models`, {
      headers: model.apiKey ? { authorization: `Bearer ${model.apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json().catch(() => undefined)) as { data?: { id?: unknown }[] } | undefined;
    if (response.status === 401 || response.status === 403) {
      return { check: "model", status: "fail", value: `${where}: the endpoint refused the key (HTTP ${response.status})`, fix: "check OPENAI_API_KEY" };
    }
    if (!response.ok) return { check: "model", status: "warn", value: `${where}: GET /models answered HTTP ${response.status}`, fix: "check OPENAI_BASE_URL" };
    const ids = Array.isArray(body?.data) ? body.data.map((m) => m.id) : [];
    if (ids.length > 0 && !ids.includes(model.name)) {
      return { check: "model", status: "warn", value: `${where}: reachable, but it does not list ${model.name}`, fix: "set CREDIT_OPTIMIZER_MODEL to a model the endpoint serves" };
    }
    return { check: "model", status: "ok", value: `${where}: reachable${ids.length > 0 ? ", model listed" : ""}` };
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "not reachable";
    return {
      check: "model",
      status: "fail",
      value: `${where}: ${reason}`,
      fix: "check OPENAI_BASE_URL and the network, or unset OPENAI_API_KEY and OPENAI_BASE_URL to plan with the offline catalog planner",
    };
  }
}

async function langsmithRow(config: AppConfig): Promise<DoctorRow> {
  const e = config.env;
  if (!tracingEnabled(config)) return { check: "langsmith", status: "info", value: "tracing off (set LANGSMITH_TRACING=true and LANGSMITH_API_KEY to trace runs)" };
  const where = `project ${e.LANGSMITH_PROJECT ?? "credit-optimizer"}, endpoint ${maskSecrets(e.LANGSMITH_ENDPOINT ?? "https://api.smith.langchain.com")}`;
  if (!e.LANGSMITH_API_KEY) return { check: "langsmith", status: "warn", value: `tracing on, but LANGSMITH_API_KEY is not set (${where})`, fix: "set LANGSMITH_API_KEY" };
  return { check: "langsmith", status: "ok", value: `configured: LANGSMITH_API_KEY is set (${where})` };
}

async function providersRow(config: AppConfig): Promise<DoctorRow> {
  const set = PROVIDER_TOKENS.filter((name) => config.env[name] !== undefined);
  const toolkit = toolkitEnvFromConfig(config);
  const local = (["neon", "upstash", "vercel", "fly", "github"] as const).filter((p) => toolkit[p] === undefined);
  const value = `${set.length > 0 ? `set: ${set.join(", ")}` : "none set"}; local provider for: ${local.length > 0 ? local.join(", ") : "none"}`;
  const upstashHalf = (config.env.UPSTASH_EMAIL === undefined) !== (config.env.UPSTASH_API_KEY === undefined);
  return upstashHalf
    ? { check: "providers", status: "warn", value, fix: "Upstash needs both UPSTASH_EMAIL and UPSTASH_API_KEY (with one of them the local Redis is used)" }
    : { check: "providers", status: "ok", value };
}

/** Whether a stdio server's command exists, or an HTTP server answers at all. */
async function reachable(server: ServerConfig, searchPath: string | undefined, timeoutMs: number): Promise<boolean> {
  if ("command" in server) return (await findExecutable(server.command, searchPath)) !== undefined;
  try {
    await fetch(server.url, { method: "GET", signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.body?.cancel());
    return true;
  } catch {
    return false;
  }
}

/**
 * Per MCP server: reachable (its command exists, or its URL answers) and its pin (the command
 * recorded when first used). Tool catalogs are compared when a run connects (`mcp list`), which
 * starts every server: more than this report's time allows.
 */
async function mcpRows(config: AppConfig, timeoutMs: number): Promise<DoctorRow[]> {
  let mcp: McpConfig;
  try {
    // Without the built-in servers' env: a pin records the command line, which the env is not part of.
    mcp = config.mcpConfigPath ? await loadMcpConfig(config.mcpConfigPath) : defaultMcpConfig();
  } catch (error) {
    return [{ check: "mcp", status: "fail", value: (error as Error).message.split("\n")[0] ?? "", fix: "fix the file named in CREDIT_OPTIMIZER_MCP_CONFIG" }];
  }
  const pins = await readPins(config.home).catch(() => undefined);
  return Promise.all(
    Object.entries(mcp.mcpServers).map(async ([name, server]): Promise<DoctorRow> => {
      const check = `mcp ${name}`;
      const where = "command" in server ? `stdio ${path.basename(server.command)}` : maskSecrets(server.url);
      if (!(await reachable(server, config.env.PATH, timeoutMs))) {
        return { check, status: "fail", value: `${where}: unreachable`, fix: "command" in server ? `install ${server.command}, or fix its entry in the MCP config` : "start that server, or fix its URL in the MCP config" };
      }
      const pin = pins?.servers[name];
      if (!pin) return { check, status: "info", value: `${where}: not pinned yet (pinned on the first run)` };
      if (pin.command !== commandLine(server)) {
        return { check, status: "warn", value: `${where}: changed since it was pinned (another command)`, fix: `check it, then: credit-optimizer mcp trust ${name}` };
      }
      return { check, status: "ok", value: `${where}: pinned ${pin.pinnedAt.slice(0, 10)}, ${toolCount(Object.keys(pin.tools).length)}` };
    }),
  );
}

async function sizeOf(dir: string): Promise<{ bytes: number; cut: boolean }> {
  let bytes = 0;
  let seen = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > SIZE_ENTRY_LIMIT) return { bytes, cut: true };
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else bytes += (await lstat(full).catch(() => ({ size: 0 }))).size;
    }
  }
  return { bytes, cut: false };
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

async function stateRow(config: AppConfig): Promise<DoctorRow> {
  if (!existsSync(config.home)) return { check: "state", status: "info", value: `${config.home}: not created yet (made on the first run)` };
  const writable = await access(config.home, constants.W_OK).then(
    () => true,
    () => false,
  );
  const { bytes, cut } = await sizeOf(config.home);
  const value = `${config.home}: ${cut ? "more than " : ""}${formatBytes(bytes)}`;
  return writable
    ? { check: "state", status: "ok", value }
    : { check: "state", status: "fail", value: `${value}, not writable`, fix: "set CREDIT_OPTIMIZER_HOME to a folder you can write to, or fix its permissions" };
}

const toolCount = (n: number): string => `${n} tool${n === 1 ? "" : "s"}`;

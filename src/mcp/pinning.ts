import { canonicalJson, sha256 } from "../hash.ts";
import { mkdir, readFile } from "node:fs/promises";
import { writeJsonAtomic } from "../atomic-write.ts";
import path from "node:path";
import { z } from "zod";
import type { ToolInfo } from "./catalog.ts";
import { McpConfigError, type McpConfig, type ServerConfig } from "./config.ts";

/**
 * Tool pinning: the first time a server is used, its catalog (tool names, description and input
 * schema hashes, annotations) and its command line are written to `<home>/pins.json`. A later catalog that
 * differs — a tool added or removed, a description or schema changed, another command — is reported
 * until someone runs `credit-optimizer mcp trust <server>`.
 */
const PinnedTool = z.object({
  descriptionHash: z.string(),
  schemaHash: z.string(),
  description: z.string(),
  /** Top-level schema property → hash, so a diff can name the properties that changed. */
  propertyHashes: z.record(z.string(), z.string()).default({}),
  /** The declared outputSchema: plans' `${step.field}` references were checked against it. Absent in pins written before it was pinned. */
  outputSchemaHash: z.string().optional(),
  /** Hints the approval gate relies on (`destructiveHint`): a tool must not quietly stop being destructive. */
  annotations: z.record(z.string(), z.unknown()).default({}),
  /**
   * The full definition (the hashes above are what a change is judged by): with it, `plan` and
   * `validate` read the catalog from the pin instead of starting the server. Absent in older pins.
   */
  inputSchema: z.record(z.string(), z.unknown()).optional(),
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

const PinnedServer = z.object({
  /** The full command line (stdio) or URL (http) the catalog came from. */
  command: z.string(),
  pinnedAt: z.string(),
  /** A built-in server's code stamp (bin/build-state.js `codeStamp`): its command line stays the same when its code changes. */
  build: z.string().optional(),
  tools: z.record(z.string(), PinnedTool),
});

const PinFile = z.object({ servers: z.record(z.string(), PinnedServer) });

type PinnedTool = z.infer<typeof PinnedTool>;
export type PinnedServer = z.infer<typeof PinnedServer>;
export type PinFile = z.infer<typeof PinFile>;

export interface PinChange {
  server: string;
  /** One readable line per difference. */
  diff: string[];
}

export interface PinCheck {
  /** Servers seen for the first time, now pinned; `command` is what the CLI should show. */
  newlyPinned: { server: string; command: string }[];
  /** Servers whose catalog or command differs from the pin; the pin is left as it was. */
  changed: PinChange[];
}

export interface TrustResult {
  command: string;
  /** Differences from the previous pin; empty when it was identical. */
  diff: string[];
  /** False when the server had never been pinned. */
  hadPin: boolean;
  toolCount: number;
}

export class PinMismatchError extends Error {
  readonly code = "TOOL_PIN_MISMATCH";
  constructor(readonly changes: PinChange[]) {
    super(changes.map(describePinChange).join("\n"));
    this.name = "PinMismatchError";
  }
}

export function isPinMismatchError(error: unknown): error is PinMismatchError {
  return error instanceof PinMismatchError;
}

export class PinStoreError extends Error {
  readonly code = "PIN_STORE_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "PinStoreError";
  }
}

export function isPinStoreError(error: unknown): error is PinStoreError {
  return error instanceof PinStoreError;
}

/** What a PinMismatchError (or a validation problem) says about one server. */
export function describePinChange(change: PinChange): string {
  return [
    `MCP server "${change.server}" changed since its tools were pinned:`,
    ...change.diff.map((line) => `  - ${line}`),
    `Review the change, then run: credit-optimizer mcp trust ${change.server}`,
  ].join("\n");
}

export function pinFilePath(home: string): string {
  return path.join(home, "pins.json");
}

/**
 * What a server runs: the full command line of a stdio server (with its cwd), or the URL. This is
 * what a pin compares; environment variables and headers are not part of it (tokens get set and
 * rotated), see `configuredNames`.
 */
export function commandLine(server: ServerConfig): string {
  if ("url" in server) return server.url;
  const line = [server.command, ...server.args].map(quoteArg).join(" ");
  return server.cwd ? `${line} (cwd: ${server.cwd})` : line;
}

/** The names (never the values) of the env variables or HTTP headers a server is given. */
export function configuredNames(server: ServerConfig): string {
  if ("url" in server) return Object.keys(server.headers ?? {}).sort().map((h) => `header ${h}`).join(", ");
  return Object.keys(server.env ?? {}).sort().map((e) => `env ${e}`).join(", ");
}

export async function readPins(home: string): Promise<PinFile> {
  const file = pinFilePath(home);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { servers: {} };
    throw new PinStoreError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PinStoreError(`${file} is not JSON (${(error as Error).message}); delete it to pin every server again`);
  }
  const parsed = PinFile.safeParse(data);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new PinStoreError(`${file} is not a pin file (bad fields: ${where}); delete it to pin every server again`);
  }
  return parsed.data;
}

/**
 * Compares the loaded tools of every configured server with its pin. A server seen for the first
 * time is pinned; a server that differs is reported in `changed` and its pin is kept.
 */
export async function checkPins(home: string, mcpConfig: McpConfig, tools: readonly ToolInfo[], builds: Record<string, string> = {}): Promise<PinCheck> {
  const pins = await readPins(home);
  const result: PinCheck = { newlyPinned: [], changed: [] };
  const fresh: Record<string, PinnedServer> = {};
  for (const [server, config] of Object.entries(mcpConfig.mcpServers)) {
    const current = pinServer(config, toolsOf(tools, server), builds[server]);
    const pinned = pins.servers[server];
    if (!pinned) {
      fresh[server] = current;
      result.newlyPinned.push({ server, command: current.command });
      continue;
    }
    const diff = diffPins(pinned, current);
    if (diff.length > 0) result.changed.push({ server, diff });
    // The same catalog: the pin gains what it lacks (full definitions, the new code stamp), so the
    // next plan can read it from disk. Nothing a person approved changes.
    else if (!sameCatalogPin(pinned, current)) fresh[server] = { ...current, pinnedAt: pinned.pinnedAt };
  }
  if (Object.keys(fresh).length > 0) await savePins(home, fresh);
  return result;
}

export type PinComparison = { state: "not-pinned" } | { state: "matches"; pinnedAt: string } | { state: "changed"; pinnedAt: string; diff: string[] };

/** One server's live catalog against its pin, writing nothing (for `mcp list --check`). */
export async function comparePin(home: string, server: string, config: ServerConfig, tools: readonly ToolInfo[]): Promise<PinComparison> {
  const pinned = (await readPins(home)).servers[server];
  if (!pinned) return { state: "not-pinned" };
  const diff = diffPins(pinned, pinServer(config, toolsOf(tools, server)));
  return diff.length === 0 ? { state: "matches", pinnedAt: pinned.pinnedAt } : { state: "changed", pinnedAt: pinned.pinnedAt, diff };
}

/** Re-pins one configured server to its current catalog and command; returns what changed. */
export async function trustServer(home: string, server: string, mcpConfig: McpConfig, tools: readonly ToolInfo[]): Promise<TrustResult> {
  const config = mcpConfig.mcpServers[server];
  if (!config) throw new McpConfigError(unknownServerMessage(server, mcpConfig));
  const previous = (await readPins(home)).servers[server];
  const current = pinServer(config, toolsOf(tools, server));
  await savePins(home, { [server]: current });
  return {
    command: current.command,
    diff: previous ? diffPins(previous, current) : [],
    hadPin: previous !== undefined,
    toolCount: Object.keys(current.tools).length,
  };
}

export function unknownServerMessage(server: string, mcpConfig: McpConfig): string {
  return `no MCP server named "${server}" is configured (configured: ${Object.keys(mcpConfig.mcpServers).join(", ") || "none"})`;
}

/** The differences between a pin and the current catalog, one readable line each. */
function diffPins(before: PinnedServer, after: PinnedServer): string[] {
  const lines: string[] = [];
  if (before.command !== after.command) lines.push(`command changed: before ${before.command} — after ${after.command}`);
  const names = [...new Set([...Object.keys(before.tools), ...Object.keys(after.tools)])].sort();
  for (const name of names) {
    const old = before.tools[name];
    const now = after.tools[name];
    if (!old) lines.push(`tool "${name}" added: ${JSON.stringify(now!.description)}`);
    else if (!now) lines.push(`tool "${name}" removed`);
    else lines.push(...diffTool(name, old, now));
  }
  return lines;
}

function diffTool(name: string, old: PinnedTool, now: PinnedTool): string[] {
  const lines: string[] = [];
  if (old.descriptionHash !== now.descriptionHash) {
    lines.push(`tool "${name}" description changed: before ${JSON.stringify(old.description)} — after ${JSON.stringify(now.description)}`);
  }
  if (old.schemaHash !== now.schemaHash) {
    const props = changedProperties(old.propertyHashes, now.propertyHashes);
    lines.push(`tool "${name}" input schema changed${props ? ` (${props})` : " (outside its top-level properties)"}`);
  }
  // A pin written before output schemas were pinned has no hash to compare with.
  if (old.outputSchemaHash !== undefined && old.outputSchemaHash !== now.outputSchemaHash) {
    lines.push(`tool "${name}" output schema changed`);
  }
  if (hashOf(old.annotations) !== hashOf(now.annotations)) {
    lines.push(`tool "${name}" annotations changed: before ${JSON.stringify(old.annotations)} — after ${JSON.stringify(now.annotations)}`);
  }
  return lines;
}

function changedProperties(before: Record<string, string>, after: Record<string, string>): string {
  const added = Object.keys(after).filter((k) => !(k in before));
  const removed = Object.keys(before).filter((k) => !(k in after));
  const changed = Object.keys(after).filter((k) => k in before && before[k] !== after[k]);
  const part = (label: string, keys: string[]): string => (keys.length ? `${label}: ${keys.sort().join(", ")}` : "");
  return [part("properties added", added), part("removed", removed), part("changed", changed)].filter(Boolean).join("; ");
}

/**
 * The catalog of each configured server whose pin in `pins` (the pin file, `readPins`) is current,
 * by server, without starting it: same command line, the same code stamp for a built-in server (`builds`), and full tool
 * definitions. A server missing from the result must be asked. A third-party server is judged by its
 * command line only (a `run` still lists its tools live and holds them to the pin).
 */
export function pinnedCatalog(pins: PinFile, mcpConfig: McpConfig, builds: Record<string, string> = {}): Record<string, ToolInfo[]> {
  const catalogs: Record<string, ToolInfo[]> = {};
  for (const [server, config] of Object.entries(mcpConfig.mcpServers)) {
    const pinned = pins.servers[server];
    if (!pinned || pinned.command !== commandLine(config) || pinned.build !== builds[server]) continue;
    const tools = Object.entries(pinned.tools);
    if (tools.some(([, tool]) => !tool.inputSchema)) continue;
    catalogs[server] = tools.map(([name, tool]) => ({
      server,
      name,
      description: tool.description,
      inputSchema: tool.inputSchema!,
      ...(tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
      annotations: tool.annotations as ToolInfo["annotations"],
      ...(config.unannotatedTools ? { unannotated: config.unannotatedTools } : {}),
      ...(tool.meta ? { meta: tool.meta } : {}),
    }));
  }
  return catalogs;
}

function sameCatalogPin(a: PinnedServer, b: PinnedServer): boolean {
  return hashOf({ ...a, pinnedAt: "" }) === hashOf({ ...b, pinnedAt: "" });
}

function pinServer(config: ServerConfig, tools: readonly ToolInfo[], build?: string): PinnedServer {
  return {
    command: commandLine(config),
    pinnedAt: new Date().toISOString(),
    ...(build ? { build } : {}),
    tools: Object.fromEntries(tools.map((t) => [t.name, pinTool(t)])),
  };
}

function pinTool(tool: ToolInfo): PinnedTool {
  const properties = tool.inputSchema["properties"];
  const propertyHashes = typeof properties === "object" && properties !== null && !Array.isArray(properties)
    ? Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, hashOf(v)]))
    : {};
  return {
    descriptionHash: hashOf(tool.description),
    schemaHash: hashOf(tool.inputSchema),
    description: tool.description,
    propertyHashes,
    outputSchemaHash: hashOf(tool.outputSchema ?? null),
    annotations: { ...tool.annotations },
    inputSchema: tool.inputSchema,
    ...(tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
    ...(tool.meta ? { meta: tool.meta } : {}),
  };
}

function toolsOf(tools: readonly ToolInfo[], server: string): ToolInfo[] {
  return tools.filter((t) => t.server === server);
}

/** Merges `updates` into the pin file as it is now on disk, through a temp file and a rename. */
export async function savePins(home: string, updates: Record<string, PinnedServer>): Promise<void> {
  await mkdir(home, { recursive: true });
  const pins = await readPins(home);
  const merged: PinFile = { servers: { ...pins.servers, ...updates } };
  const file = pinFilePath(home);
  await writeJsonAtomic(file, merged);
}

/** SHA-256 of canonical JSON (object keys sorted), so key order never counts as a change. */
function hashOf(value: unknown): string {
  return sha256(canonicalJson(value));
}


function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

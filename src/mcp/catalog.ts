import type { UnannotatedTools } from "./config.ts";

/** What the engine knows about the tools of the loaded MCP servers, and how plans name them. */
export interface ToolInfo {
  server: string;
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** The JSON Schema of the tool's `structuredContent`, when the server declares one. */
  outputSchema?: Record<string, unknown>;
  annotations?: { destructiveHint?: boolean; readOnlyHint?: boolean; idempotentHint?: boolean; title?: string };
  meta?: Record<string, unknown>;
  /** The server's `unannotatedTools` setting from the MCP config; absent means MCP's default. */
  unannotated?: UnannotatedTools;
}

export interface ResolvedTool {
  server: string;
  tool: string;
}

/** The seed's `tool_server` spellings name servers by their old package names. */
export const SERVER_ALIASES: Readonly<Record<string, string>> = {
  "robinsons-toolkit-mcp": "toolkit",
  "autonomous-agent-mcp": "workspace",
  "thinking-tools-mcp": "thinking",
};

/** Per-agent thinking instances written by `credit-optimizer mcp-config --agents …`. */
export const AGENT_INSTANCE_PREFIX = "thinking-tools-";

const DESTRUCTIVE_NAME = /(^|_)(delete|drop|destroy|remove|teardown)(_|$)/;

/**
 * MCP's defaults: a tool is possibly destructive unless it says `readOnlyHint: true` or
 * `destructiveHint: false`; a tool that says neither counts as destructive unless its server is
 * configured with `unannotatedTools: "non-destructive"`. A delete-like name is destructive whatever
 * the hints say: a wrong hint must not skip approval for `delete_project`.
 */
export function isDestructiveTool(info: Pick<ToolInfo, "name" | "annotations" | "unannotated">): boolean {
  if (DESTRUCTIVE_NAME.test(info.name)) return true;
  const hints = info.annotations ?? {};
  if (hints.readOnlyHint === true) return false;
  if (typeof hints.destructiveHint === "boolean") return hints.destructiveHint;
  return info.unannotated !== "non-destructive";
}

/** How `mcp list` words a server's setting for tools without destructive/read-only hints. */
export function describeUnannotated(setting: UnannotatedTools | undefined): string {
  return setting === "non-destructive"
    ? "unannotated tools: non-destructive (unannotatedTools in the MCP config)"
    : "unannotated tools: possibly destructive, approval needed (MCP's default; set unannotatedTools to change)";
}

export type Resolution = { ok: true; resolved: ResolvedTool } | { ok: false; message: string };

/**
 * Resolves `server.tool`, the `tool_server` spelling, or a bare name that exactly one server has.
 * A step's `agent` routes to a per-agent instance (`thinking-tools-db` for agent `db`) when one exists.
 */
export function resolveTool(ref: string, tools: readonly ToolInfo[], agent?: string): Resolution {
  const servers = new Set(tools.map((t) => t.server));
  const has = (server: string, name: string): boolean => tools.some((t) => t.server === server && t.name === name);

  const dot = ref.indexOf(".");
  if (dot > 0) {
    const server = ref.slice(0, dot);
    const tool = ref.slice(dot + 1);
    if (!servers.has(server)) return { ok: false, message: `no MCP server named "${server}" is loaded (loaded: ${[...servers].join(", ")})` };
    if (!has(server, tool)) return { ok: false, message: `server "${server}" has no tool "${tool}"` };
    return { ok: true, resolved: routeToAgent({ server, tool }, tools, agent) };
  }

  const suffixes = [...servers.values(), ...Object.keys(SERVER_ALIASES)].sort((a, b) => b.length - a.length);
  for (const suffix of suffixes) {
    if (!ref.endsWith(`_${suffix}`)) continue;
    const server = SERVER_ALIASES[suffix] ?? suffix;
    const tool = ref.slice(0, -suffix.length - 1);
    if (has(server, tool)) return { ok: true, resolved: routeToAgent({ server, tool }, tools, agent) };
  }

  const owners = tools.filter((t) => t.name === ref).map((t) => t.server);
  if (owners.length === 0) return { ok: false, message: `no loaded MCP server has a tool "${ref}"` };
  const routed = agent === undefined ? undefined : owners.find((s) => s === `${AGENT_INSTANCE_PREFIX}${agent}`);
  if (routed) return { ok: true, resolved: { server: routed, tool: ref } };
  // Per-agent instances (`thinking-tools-<agent>`) never make a bare name ambiguous.
  const shared = owners.length === 1 ? owners : owners.filter((s) => !s.startsWith(AGENT_INSTANCE_PREFIX));
  if (shared.length === 1) return { ok: true, resolved: { server: shared[0]!, tool: ref } };
  return { ok: false, message: `tool "${ref}" is ambiguous: servers ${owners.join(", ")} all have it; write "server.${ref}"` };
}

/** A thinking tool of a step with `agent: db` goes to the `thinking-tools-db` instance when it exists. */
function routeToAgent(resolved: ResolvedTool, tools: readonly ToolInfo[], agent?: string): ResolvedTool {
  if (agent === undefined || !resolved.server.startsWith("thinking")) return resolved;
  const server = `${AGENT_INSTANCE_PREFIX}${agent}`;
  return tools.some((t) => t.server === server && t.name === resolved.tool) ? { server, tool: resolved.tool } : resolved;
}

export function findTool(tools: readonly ToolInfo[], resolved: ResolvedTool): ToolInfo | undefined {
  return tools.find((t) => t.server === resolved.server && t.name === resolved.tool);
}

import { z } from "zod";
import type { AppConfig } from "./config.ts";
import { costConfigPath, issueLines, readConfigSection } from "./cost/config-file.ts";

/**
 * Which tools each agent may call (complete mediation). Patterns are `server.tool` with `*`
 * wildcards; a step with no agent, or an agent not listed, uses the `*` entry. A broker call
 * (`toolkit_call`) is checked against the tool it brokers (`toolkit.<tool_name>`) as well.
 */
export type AllowLists = Record<string, string[]>;

const THINKING = ["thinking*.*"];
const BROKER_READS = ["toolkit.toolkit_list_*", "toolkit.toolkit_get_tool_schema"];

/** Defaults for the seed's agents; `config.json` → `agents.<name>.allow` overrides one agent's list. */
export const DEFAULT_ALLOW_LISTS: AllowLists = {
  coding: ["workspace.*", "toolkit.github_*", ...THINKING, ...BROKER_READS],
  db: ["toolkit.neon_*", "toolkit.toolkit_call", ...THINKING, ...BROKER_READS],
  redis: ["toolkit.upstash_*", "toolkit.toolkit_call", ...THINKING, ...BROKER_READS],
  deploy: ["toolkit.vercel_*", "toolkit.fly_*", "toolkit.github_*", "toolkit.toolkit_call", ...THINKING, ...BROKER_READS],
  "*": ["*"],
};

const AgentsSection = z.record(z.string(), z.object({ allow: z.array(z.string().min(1)) }));

/** The allow-lists in force: the defaults, overridden per agent from the config file. */
export function loadAllowLists(config: Pick<AppConfig, "home" | "env">): AllowLists {
  const file = costConfigPath(config);
  if (!file) return DEFAULT_ALLOW_LISTS;
  const section = readConfigSection(file, "agents");
  if (section === undefined) return DEFAULT_ALLOW_LISTS;
  const parsed = AgentsSection.safeParse(section);
  if (!parsed.success) throw new Error(`invalid agent allow-lists in ${issueLines(file, "agents", parsed.error.issues)}`);
  const lists: AllowLists = { ...DEFAULT_ALLOW_LISTS };
  for (const [agent, { allow }] of Object.entries(parsed.data)) lists[agent] = allow;
  return lists;
}

/** Why `agent` may not call `server.tool` (with its params), or undefined when it may. */
export function denial(lists: AllowLists, agent: string | undefined, server: string, tool: string, params: Record<string, unknown>): string | undefined {
  const key = agent !== undefined && agent in lists ? agent : "*";
  const patterns = lists[key] ?? [];
  const who = agent === undefined ? "a step with no agent" : `agent "${agent}"`;
  if (!patterns.some((p) => matches(p, `${server}.${tool}`))) {
    return `${who} may not call ${server}.${tool} (allowed: ${patterns.join(", ") || "nothing"})`;
  }
  const brokered = params["tool_name"];
  if (tool === "toolkit_call" && typeof brokered === "string" && !brokered.includes("${")) {
    if (!patterns.some((p) => matches(p, `${server}.${brokered}`))) {
      return `${who} may not call ${server}.${brokered} through ${tool} (allowed: ${patterns.join(", ")})`;
    }
  }
  return undefined;
}

function matches(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.split("*").map(escape).join(".*")}$`);
  return regex.test(name);
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

import { z } from "zod";
import type { AppConfig } from "../config.ts";
import { costConfigPath, issueLines, readConfigSection } from "../cost/config-file.ts";

/**
 * Which tools each agent may call (least privilege). Patterns are `server.tool` with `*` wildcards;
 * a pattern starting with `!` denies what it matches, and a deny wins over any allow. A step with no
 * `agent` runs as the `default` agent; an agent with no list may call nothing.
 */
export type AllowLists = Record<string, string[]>;

/** The agent a step without `agent` runs as. */
export const DEFAULT_AGENT = "default";

const THINKING = ["thinking*.*"];
const BROKER_READS = ["toolkit.toolkit_list_*", "toolkit.toolkit_get_tool_schema"];
/** Deletion by name, on any server: the default agent may read and create, never delete. */
const NO_DELETION = ["!*.*delete*", "!*.*drop*", "!*.*destroy*", "!*.*teardown*", "!*.*remove*"];

/** Defaults for the seed's agents; `config.json` → `agents.<name>.allow` overrides or adds one agent's list. */
export const DEFAULT_ALLOW_LISTS: AllowLists = {
  coding: ["workspace.*", "toolkit.github_*", ...THINKING, ...BROKER_READS],
  db: ["toolkit.neon_*", "toolkit.toolkit_call", ...THINKING, ...BROKER_READS],
  redis: ["toolkit.upstash_*", "toolkit.toolkit_call", ...THINKING, ...BROKER_READS],
  deploy: ["toolkit.vercel_*", "toolkit.fly_*", "toolkit.github_*", "toolkit.toolkit_call", ...THINKING, ...BROKER_READS],
  [DEFAULT_AGENT]: ["*", ...NO_DELETION],
};

const AgentsSection = z.record(z.string(), z.object({ allow: z.array(z.string().min(1)) }));

export interface AllowPolicy {
  lists: AllowLists;
  /** Where a missing agent's list goes (named in the error). */
  configFile: string;
}

/** The allow-lists in force: the defaults, overridden per agent from the config file. */
export function loadAllowLists(config: Pick<AppConfig, "home" | "env">): AllowPolicy {
  const file = costConfigPath(config);
  const configFile = file ?? `${config.home}/config.json`;
  const section = file ? readConfigSection(file, "agents") : undefined;
  if (section === undefined) return { lists: DEFAULT_ALLOW_LISTS, configFile };
  const parsed = AgentsSection.safeParse(section);
  if (!parsed.success) throw new Error(`invalid agent allow-lists in ${issueLines(configFile, "agents", parsed.error.issues)}`);
  const lists: AllowLists = { ...DEFAULT_ALLOW_LISTS };
  for (const [agent, { allow }] of Object.entries(parsed.data)) lists[agent] = allow;
  return { lists, configFile };
}

/** Why `agent` may not call `server.tool`, or undefined when it may. */
export function allowDenial(policy: AllowPolicy, agent: string | undefined, server: string, tool: string): string | undefined {
  const key = agent ?? DEFAULT_AGENT;
  const who = agent === undefined ? `a step with no agent (agent "${DEFAULT_AGENT}")` : `agent "${agent}"`;
  const patterns = policy.lists[key];
  if (patterns === undefined) {
    return `${who} has no allow-list, so it may call nothing: add "agents": { "${key}": { "allow": ["server.tool", …] } } to ${policy.configFile}`;
  }
  const name = `${server}.${tool}`;
  const denied = patterns.find((p) => p.startsWith("!") && matches(p.slice(1), name));
  const allowed = patterns.some((p) => !p.startsWith("!") && matches(p, name));
  if (denied || !allowed) return `${who} may not call ${name} (${denied ? `denied by ${denied}` : `allowed: ${patterns.join(", ") || "nothing"}`})`;
  return undefined;
}

function matches(pattern: string, name: string): boolean {
  return new RegExp(`^${pattern.split("*").map(escape).join(".*")}$`).test(name);
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

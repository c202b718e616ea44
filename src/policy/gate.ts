import type { GuardCheck } from "../cost/budget.ts";
import { findTool, isDestructiveTool, type ResolvedTool, type ToolInfo } from "../mcp/catalog.ts";
import { allowDenial, type AllowPolicy } from "./allow.ts";

/**
 * Where a call comes from. A rollback the plan declares is checked like a step; a rollback that a
 * create call returned (on its own server, for what this run created) is trusted by that origin.
 */
export type CallOrigin = "step" | "plan-rollback" | "returned-rollback";

/** The rule that refused (or held) a call. */
export type Rule = "allow-list" | "destructive" | "pin" | "budget";

/** One call as the gate sees it: after interpolation, with the resolved server and tool. */
export interface GatedCall {
  step: string;
  agent?: string;
  server: string;
  tool: string;
  args: Record<string, unknown>;
  origin: CallOrigin;
}

export type GateVerdict =
  | { ok: true; trusted?: string }
  /** `hold`: the call waits for a person (the running budget, `limit` crossed); otherwise it is refused. */
  | { ok: false; rule: Rule; message: string; hold?: boolean; limit?: string };

export interface RuleOptions {
  tools: readonly ToolInfo[];
  allow?: AllowPolicy;
  /** Servers whose tools changed since they were pinned (server → what changed). */
  untrusted?: Record<string, string[]>;
  /** A person approved the plan's destructive calls, or `--allow-destructive`. */
  allowDestructive: boolean;
  /**
   * Validation before the run: a brokered tool named by a `${reference}` is decided at call time
   * (skipped here). At call time the arguments are interpolated, and a name that is not a tool is refused.
   */
  beforeRun?: boolean;
}

export interface GateOptions extends RuleOptions {
  /** The running budget: a call that would start over it is held until a person answers. */
  budget?: () => GuardCheck | Promise<GuardCheck>;
}

export type CallGate = (call: GatedCall) => Promise<GateVerdict>;

/** The broker tool: `toolkit_call { tool_name, arguments }` calls `<server>.<tool_name>`. */
const BROKER_TOOL = "toolkit_call";

/**
 * The tool a broker call brokers: "deferred" when its name is a `${reference}` (known at call time),
 * "unknown" when it is not a string; undefined for a call that brokers nothing.
 */
export function brokeredTool(server: string, tool: string, args: Record<string, unknown>): ResolvedTool | "unknown" | "deferred" | undefined {
  if (tool !== BROKER_TOOL) return undefined;
  const inner = args["tool_name"];
  if (typeof inner !== "string") return "unknown";
  return inner.includes("${") ? "deferred" : { server, tool: inner };
}

/** Whether calling `target` may destroy something: annotations by MCP's defaults; an unknown tool may. */
export function mayDestroy(target: ResolvedTool, tools: readonly ToolInfo[]): boolean {
  const info = findTool(tools, target);
  return info === undefined || isDestructiveTool(info);
}

/**
 * The rules that can be decided from the call alone: pins, the agent's allow-list (for a broker, also
 * for the tool it brokers) and destructive approval. Used by validation before the run, and by the
 * gate on every call.
 */
export function checkRules(call: GatedCall, options: RuleOptions): GateVerdict {
  const name = `${call.server}.${call.tool}`;
  const changed = options.untrusted?.[call.server];
  if (changed) return refuse("pin", pinMessage(call.server, changed));
  if (call.origin === "returned-rollback") return { ok: true, trusted: `returned by the call that created what it undoes (${name} on the same server)` };
  const found = brokeredTool(call.server, call.tool, call.args);
  const inner = found === "deferred" && !options.beforeRun ? "unknown" : found;
  const targets: ResolvedTool[] = [{ server: call.server, tool: call.tool }, ...(typeof inner === "object" ? [inner] : [])];
  if (options.allow) {
    for (const target of targets) {
      const denied = allowDenial(options.allow, call.agent, target.server, target.tool);
      if (denied) return refuse("allow-list", target === targets[0] ? denied : `${denied} (brokered by ${name})`);
    }
    if (inner === "unknown") return refuse("allow-list", `${name} brokers a tool whose name is not known: the brokered tool must be named`);
  }
  if (!options.allowDestructive) {
    const what = call.origin === "plan-rollback" ? "the rollback " : "";
    for (const target of targets) {
      if (mayDestroy(target, options.tools)) {
        const via = target === targets[0] ? "" : ` (brokered by ${name})`;
        return refuse("destructive", `${what}${target.server}.${target.tool}${via} may destroy data: it runs only with approval (a person's, or --allow-destructive)`);
      }
    }
    if (inner === "unknown") return refuse("destructive", `${name} brokers a tool whose name is not known, so it may destroy data: it runs only with approval`);
  }
  return { ok: true };
}

/** The gate every call passes (steps, retries, rollbacks, broker calls): the rules, then the running budget. */
export function createCallGate(options: GateOptions): CallGate {
  return async (call) => {
    const verdict = checkRules(call, options);
    if (!verdict.ok || call.origin !== "step" || !options.budget) return verdict;
    const budget = await options.budget();
    return budget.ok ? verdict : { ok: false, rule: "budget", message: budget.message, hold: true, limit: budget.limit };
  };
}

/** Why a pinned server's tools are not called until a person trusts it again. */
export function pinMessage(server: string, changed: readonly string[]): string {
  return `MCP server "${server}" changed since it was pinned (${changed.join("; ")}): review it, then run credit-optimizer mcp trust ${server}`;
}

/** How a refusal reads in a step's error. */
export function describeRefusal(call: Pick<GatedCall, "server" | "tool">, verdict: { rule: Rule; message: string }): string {
  return `${call.server}.${call.tool} refused by the ${verdict.rule} rule: ${verdict.message}`;
}

function refuse(rule: Rule, message: string): GateVerdict {
  return { ok: false, rule, message };
}

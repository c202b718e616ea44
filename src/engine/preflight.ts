import { z } from "zod";
import type { ToolCaller } from "../mcp/client.ts";
import type { PreparedPlan } from "../plan/validate.ts";
import { PREFLIGHT_META_KEY } from "../servers/preflight.ts";

/*
 * The preflight: after validation and before any step, each server a plan calls is asked (in
 * parallel, through its read-only preflight tool) whether it can serve the plan's tools there. A
 * problem here means the run would fail part-way and roll back what it made; found now, nothing is
 * made. Servers without a preflight tool (third-party ones) are not asked.
 */

export interface PreflightProblem {
  server: string;
  /** The steps it stops (plan order), and their tools on that server. */
  steps: string[];
  tools: string[];
  /** What is wrong, one line, no secrets. */
  message: string;
  /** What to do about it, one line. */
  fix: string;
}

/** The broker that runs another toolkit tool by name: its `tool_name` is what the backend serves. */
const BROKER = "toolkit_call";
const PREFLIGHT_TIMEOUT_MS = 15_000;

const Output = z.object({
  problems: z.array(z.object({ tools: z.array(z.string()).default([]), problem: z.string(), fix: z.string().default("") })),
});

export function formatPreflightProblem(p: PreflightProblem): string {
  const steps = p.steps.length > 0 ? `step${p.steps.length > 1 ? "s" : ""} ${p.steps.join(", ")}` : p.server;
  return `${steps} (${p.tools.map((t) => `${p.server}.${t}`).join(", ")}): ${p.message}${p.fix ? ` — fix: ${p.fix}` : ""}`;
}

/** Asks every server the plan calls (steps and rollbacks) whether it can serve them; [] when all can. */
export async function preflight(prepared: PreparedPlan, caller: ToolCaller): Promise<PreflightProblem[]> {
  // server → tool → steps calling it
  const usage = new Map<string, Map<string, string[]>>();
  const use = (server: string, tool: string, step: string): void => {
    const tools = usage.get(server) ?? new Map<string, string[]>();
    usage.set(server, tools);
    const steps = tools.get(tool) ?? [];
    if (!steps.includes(step)) steps.push(step);
    tools.set(tool, steps);
  };
  const stepsById = new Map(prepared.plan.steps.map((s) => [s.id, s]));
  for (const id of prepared.order) {
    for (const resolved of [prepared.tools[id], prepared.rollbackTools[id]]) {
      if (!resolved) continue;
      use(resolved.server, resolved.tool, id);
      const inner = resolved === prepared.tools[id] ? stepsById.get(id)?.params["tool_name"] : undefined;
      if (resolved.tool === BROKER && typeof inner === "string" && !inner.includes("${")) use(resolved.server, inner, id);
    }
  }

  const asked = [...usage].map(async ([server, tools]): Promise<PreflightProblem[]> => {
    const check = caller.tools.find((t) => t.server === server && t.meta?.[PREFLIGHT_META_KEY] === true);
    if (!check) return [];
    const stepsOf = (names: readonly string[]): string[] =>
      prepared.order.filter((id) => names.some((name) => tools.get(name)?.includes(id)));
    try {
      const output = Output.parse(await caller.call(server, check.name, { tools: [...tools.keys()] }, { timeoutMs: PREFLIGHT_TIMEOUT_MS }));
      return output.problems.map((p) => {
        const names = p.tools.filter((name) => tools.has(name));
        return { server, steps: stepsOf(names), tools: names, message: p.problem, fix: p.fix };
      });
    } catch (error) {
      const names = [...tools.keys()];
      const reason = error instanceof z.ZodError ? "its answer is not a preflight result" : error instanceof Error ? error.message : String(error);
      return [{ server, steps: stepsOf(names), tools: names, message: `${check.name} failed: ${reason}`, fix: "check the server with: credit-optimizer doctor" }];
    }
  });
  return (await Promise.all(asked)).flat();
}

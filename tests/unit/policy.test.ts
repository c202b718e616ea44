import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { loadConfig } from "../../src/config.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState } from "../../src/engine/schedule.ts";
import { DEFAULT_ALLOW_LISTS, denial, loadAllowLists } from "../../src/policy.ts";
import { formatProblem } from "../../src/plan/validate.ts";
import { FakeCaller } from "../helpers/fake-caller.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

function toolkit(): FakeCaller {
  const caller = new FakeCaller();
  for (const name of ["neon_create_project", "neon_delete_project", "upstash_create_database", "toolkit_call"]) caller.add("toolkit", name, () => ({ ok: name }));
  caller.add("workspace", "run_lint", () => ({ findings: 0 }));
  return caller;
}

async function execute(plan: unknown, caller: FakeCaller): Promise<ExecState> {
  const ctx = { caller, limits: new ServerLimits(), allow: DEFAULT_ALLOW_LISTS };
  const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
  return (await graph.invoke({ plan }, { configurable: { thread_id: `p-${Math.random()}` } })) as ExecState;
}

describe("per-agent allow-lists (complete mediation)", () => {
  it("the default lists match each agent's provider and let agentless steps through", () => {
    expect(denial(DEFAULT_ALLOW_LISTS, "db", "toolkit", "neon_create_project", {})).toBeUndefined();
    expect(denial(DEFAULT_ALLOW_LISTS, "db", "thinking-tools-db", "sequential_thinking", {})).toBeUndefined();
    expect(denial(DEFAULT_ALLOW_LISTS, "redis", "toolkit", "neon_delete_project", {})).toBe(
      'agent "redis" may not call toolkit.neon_delete_project (allowed: toolkit.upstash_*, toolkit.toolkit_call, thinking*.*, toolkit.toolkit_list_*, toolkit.toolkit_get_tool_schema)',
    );
    expect(denial(DEFAULT_ALLOW_LISTS, undefined, "toolkit", "neon_delete_project", {})).toBeUndefined();
  });

  it("a brokered call is checked against the tool it brokers", () => {
    expect(denial(DEFAULT_ALLOW_LISTS, "redis", "toolkit", "toolkit_call", { tool_name: "upstash_create_database" })).toBeUndefined();
    expect(denial(DEFAULT_ALLOW_LISTS, "redis", "toolkit", "toolkit_call", { tool_name: "neon_delete_project" })).toContain(
      'agent "redis" may not call toolkit.neon_delete_project through toolkit_call',
    );
  });

  it("a plan injected straight into the executor graph is refused at prepare; nothing runs", async () => {
    const caller = toolkit();
    const state = await execute(
      { name: "inject", steps: [{ id: "drop", agent: "coding", tool: "toolkit.neon_delete_project", params: { project_id: "p" } }] },
      caller,
    );
    expect(state.status).toBe("invalid");
    expect(state.problems.map(formatProblem)).toEqual([
      'step "drop", tool: agent "coding" may not call toolkit.neon_delete_project (allowed: workspace.*, toolkit.github_*, thinking*.*, toolkit.toolkit_list_*, toolkit.toolkit_get_tool_schema)',
      'step "drop", tool: toolkit.neon_delete_project is destructive: it runs only with explicit approval (--allow-destructive)',
    ]);
    expect(caller.calls).toHaveLength(0);
  });

  it("the executor checks again on interpolated arguments (a broker target only known at run time)", async () => {
    const caller = toolkit();
    caller.add("toolkit", "pick", () => ({ target: "neon_delete_project" }));
    const state = await execute(
      {
        name: "late",
        steps: [
          { id: "pick", tool: "toolkit.pick", params: {} },
          { id: "call", agent: "redis", tool: "toolkit.toolkit_call", params: { category: "neon", tool_name: "${pick.target}", arguments: {} } },
        ],
      },
      caller,
    );
    expect(state.results["call"]).toMatchObject({ status: "failed", error: { code: "NOT_ALLOWED" } });
    expect(caller.callsOf("toolkit_call")).toHaveLength(0);
  });

  it("config.json overrides one agent's list; a bad section names the field", () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, "config.json"), JSON.stringify({ agents: { db: { allow: ["toolkit.neon_get_*"] } } }));
    const lists = loadAllowLists(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home));
    expect(lists["db"]).toEqual(["toolkit.neon_get_*"]);
    expect(lists["redis"]).toEqual(DEFAULT_ALLOW_LISTS["redis"]);
    writeFileSync(path.join(home, "config.json"), JSON.stringify({ agents: { db: { allow: "all" } } }));
    expect(() => loadAllowLists(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home))).toThrow(/agents\.db\.allow/);
  });

  it("a destructive step is refused unless destruction is approved (allowDestructive)", async () => {
    const plan = { name: "drop", steps: [{ id: "drop", tool: "toolkit.neon_delete_project", params: { project_id: "p" } }] };
    const ctx = { caller: toolkit(), limits: new ServerLimits() };
    const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
    const refused = (await graph.invoke({ plan }, { configurable: { thread_id: `d-${Math.random()}` } })) as ExecState;
    expect(refused.status).toBe("invalid");
    expect(refused.problems.map(formatProblem)).toEqual([
      'step "drop", tool: toolkit.neon_delete_project is destructive: it runs only with explicit approval (--allow-destructive)',
    ]);
    expect(ctx.caller.calls).toHaveLength(0);
    const allowed = (await graph.invoke({ plan, allowDestructive: true }, { configurable: { thread_id: `d-${Math.random()}` } })) as ExecState;
    expect(allowed.status).toBe("succeeded");
  });
});

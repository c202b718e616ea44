import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { loadConfig } from "../../src/config.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { ExecState } from "../../src/engine/state.ts";
import { allowDenial, DEFAULT_ALLOW_LISTS, loadAllowLists, type AllowPolicy } from "../../src/policy/allow.ts";
import { formatProblem, validatePlan } from "../../src/plan/validate.ts";
import { FakeCaller } from "../helpers/fake-caller.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const policy: AllowPolicy = { lists: DEFAULT_ALLOW_LISTS, configFile: "/state/config.json" };

/** A toolkit with annotated creates and deletes, a broker, and a third-party server with one unannotated tool. */
function servers(): FakeCaller {
  const caller = new FakeCaller();
  for (const name of ["neon_create_project", "upstash_create_database"]) caller.add("toolkit", name, () => ({ id: `${name}-1` }), undefined, { destructiveHint: false });
  caller.add("toolkit", "neon_delete_project", () => ({ deleted: true }), undefined, { destructiveHint: true });
  caller.add("toolkit", "toolkit_call", () => ({ brokered: true }), undefined, { destructiveHint: false });
  caller.add("toolkit", "pick", () => ({ target: "neon_delete_project" }), undefined, { readOnlyHint: true });
  caller.add("toolkit", "fail", () => {
    throw new Error("forced failure");
  }, undefined, { readOnlyHint: true });
  caller.add("memory", "add_observations", () => ({ ok: true }), undefined, null);
  caller.add("memory", "read_graph", () => ({ entities: [] }), undefined, { readOnlyHint: true });
  return caller;
}

async function execute(plan: unknown, caller: FakeCaller, allowDestructive = false): Promise<ExecState> {
  const ctx = { caller, limits: new ServerLimits(), allow: policy };
  const graph = compileExecutor({ context: async () => ctx }, new MemorySaver());
  return (await graph.invoke({ plan, allowDestructive }, { configurable: { thread_id: `p-${Math.random()}` } })) as ExecState;
}

describe("allow-lists: least privilege", () => {
  it("each built-in agent reaches its provider; the default agent reads and creates but never deletes", () => {
    expect(allowDenial(policy, "db", "toolkit", "neon_create_project")).toBeUndefined();
    expect(allowDenial(policy, "db", "thinking-tools-db", "sequential_thinking")).toBeUndefined();
    expect(allowDenial(policy, "redis", "toolkit", "neon_delete_project")).toMatch(/^agent "redis" may not call toolkit.neon_delete_project \(allowed: toolkit.upstash_\*/);
    expect(allowDenial(policy, undefined, "toolkit", "neon_create_project")).toBeUndefined();
    expect(allowDenial(policy, undefined, "toolkit", "neon_delete_project")).toBe('a step with no agent (agent "default") may not call toolkit.neon_delete_project (denied by !*.*delete*)');
  });

  it("an agent missing from the config gets no tools, and the error names the key to add", () => {
    expect(allowDenial(policy, "ops", "toolkit", "neon_create_project")).toBe(
      'agent "ops" has no allow-list, so it may call nothing: add "agents": { "ops": { "allow": ["server.tool", …] } } to /state/config.json',
    );
  });

  it("config.json overrides or adds one agent's list; a bad section names the field", () => {
    const home = tempDir();
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, "config.json"), JSON.stringify({ agents: { db: { allow: ["toolkit.neon_get_*"] }, ops: { allow: ["toolkit.*"] } } }));
    const loaded = loadAllowLists(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home));
    expect(loaded.lists["db"]).toEqual(["toolkit.neon_get_*"]);
    expect(loaded.lists["ops"]).toEqual(["toolkit.*"]);
    expect(loaded.lists["redis"]).toEqual(DEFAULT_ALLOW_LISTS["redis"]);
    writeFileSync(path.join(home, "config.json"), JSON.stringify({ agents: { db: { allow: "all" } } }));
    expect(() => loadAllowLists(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home))).toThrow(/agents\.db\.allow/);
  });
});

/**
 * Attack plans: each tries to make a call that may destroy data, or that its agent may not make,
 * without approval. Every one must be refused at the call (a failed step naming the rule) or before
 * the run, and the destructive ones must run once approved.
 */
const ATTACKS: { name: string; plan: unknown; refusedBy: string; approvable: boolean }[] = [
  {
    name: "a broker's tool name interpolated from a plan parameter",
    plan: { name: "param", params: { t: "neon_delete_project" }, steps: [{ id: "call", agent: "db", tool: "toolkit.toolkit_call", params: { category: "neon", tool_name: "${t}", arguments: {} } }] },
    refusedBy: "destructive",
    approvable: true,
  },
  {
    name: "a broker's tool name taken from a previous step's output",
    plan: { name: "late", steps: [{ id: "pick", tool: "toolkit.pick", params: {} }, { id: "call", agent: "db", tool: "toolkit.toolkit_call", params: { category: "neon", tool_name: "${pick.target}", arguments: {} } }] },
    refusedBy: "destructive",
    approvable: true,
  },
  {
    name: "a plan-declared rollback that calls a destructive tool",
    plan: {
      name: "rollback",
      steps: [
        { id: "make", agent: "db", tool: "toolkit.neon_create_project", params: {}, rollback: { tool: "toolkit.neon_delete_project", params: { id: "${make.id}" } } },
        { id: "boom", tool: "toolkit.fail", dependencies: ["make"], params: {}, retry: { maxAttempts: 1 } },
      ],
    },
    refusedBy: "destructive",
    approvable: true,
  },
  {
    name: "an unannotated third-party tool",
    plan: { name: "third-party", steps: [{ id: "write", tool: "memory.add_observations", params: {} }] },
    refusedBy: "destructive",
    approvable: true,
  },
  {
    name: "an agent not in the config",
    plan: { name: "stranger", steps: [{ id: "make", agent: "ops", tool: "toolkit.neon_create_project", params: {} }] },
    refusedBy: "allow-list",
    approvable: false,
  },
  {
    name: "an agent brokering another agent's tool by a reference",
    plan: { name: "cross", params: { t: "neon_create_project" }, steps: [{ id: "call", agent: "redis", tool: "toolkit.toolkit_call", params: { category: "neon", tool_name: "${t}", arguments: {} } }] },
    refusedBy: "allow-list",
    approvable: false,
  },
];

describe("complete mediation: attack plans", () => {
  for (const attack of ATTACKS) {
    it(`refuses ${attack.name} without approval${attack.approvable ? ", and runs it with approval" : ", even with approval"}`, async () => {
      const caller = servers();
      const refused = await execute(attack.plan, caller);
      const destructiveCalls = caller.calls.filter((c) => c.tool === "neon_delete_project" || c.tool === "add_observations" || (c.tool === "toolkit_call" && attack.refusedBy === "destructive"));
      expect(destructiveCalls).toHaveLength(0);
      const errors = [...Object.values(refused.results).map((r) => r.error), ...refused.compensations.map((c) => c.error)].filter((e) => e !== undefined);
      const problems = refused.problems.map(formatProblem);
      const rule = `refused by the ${attack.refusedBy} rule`;
      expect([...errors.map((e) => e.message), ...problems].some((m) => m.includes(rule) || (refused.status === "invalid" && m.includes(attack.refusedBy === "allow-list" ? "may call nothing" : "may destroy data")))).toBe(true);
      expect(refused.status).not.toBe("succeeded");

      const approved = await execute(attack.plan, servers(), true);
      if (attack.approvable) {
        const failedByPolicy = Object.values(approved.results).filter((r) => r.error?.code.startsWith("POLICY_"));
        expect(failedByPolicy).toEqual([]);
        expect(approved.compensations.every((c) => c.status === "succeeded")).toBe(true);
      } else {
        expect(approved.status).not.toBe("succeeded");
      }
    });
  }

  it(`all ${ATTACKS.length} attack plans were refused: none got through`, async () => {
    let through = 0;
    for (const attack of ATTACKS) if ((await execute(attack.plan, servers())).status === "succeeded") through++;
    expect(through).toBe(0);
  });
});

describe("validate: the same rules before the run", () => {
  it("lists the steps and rollbacks that need approval, and what is decided at call time", () => {
    const caller = servers();
    const plan = {
      name: "mixed",
      params: { t: "upstash_create_database" },
      steps: [
        { id: "make", agent: "db", tool: "toolkit.neon_create_project", params: {}, rollback: { tool: "toolkit.neon_delete_project", params: {} } },
        { id: "write", tool: "memory.add_observations", params: {} },
        { id: "read", tool: "memory.read_graph", params: {} },
        { id: "call", tool: "toolkit.toolkit_call", params: { category: "upstash", tool_name: "${t}", arguments: {} } },
      ],
    };
    const result = validatePlan(plan, { tools: caller.tools, allow: policy });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.prepared.needsApproval).toEqual(["make (rollback)", "write"]);
    expect(result.prepared.atCallTime).toEqual(['step "call" brokers a tool named by a reference (${t}): its allow-list and destructive checks are made when it is called']);
  });

  it("an agent outside its list is a problem before anything runs", () => {
    const result = validatePlan({ name: "x", steps: [{ id: "drop", agent: "coding", tool: "toolkit.neon_delete_project", params: {} }] }, { tools: servers().tools, allow: policy });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      'step "drop", tool: agent "coding" may not call toolkit.neon_delete_project (allowed: workspace.*, toolkit.github_*, thinking*.*, toolkit.toolkit_list_*, toolkit.toolkit_get_tool_schema)',
    ]);
  });
});

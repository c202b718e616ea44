import { describe, expect, it } from "vitest";
import { formatPreflightProblem, preflight } from "../../src/engine/preflight.ts";
import { ToolCallError } from "../../src/mcp/client.ts";
import { validatePlan } from "../../src/plan/validate.ts";
import { PREFLIGHT_META_KEY } from "../../src/servers/preflight.ts";
import { FakeCaller } from "../helpers/fake-caller.ts";

/** A caller with `infra` (a preflight that reports what it is told), `tk` (a broker) and `plain` (no preflight). */
function caller(answer: (tools: string[]) => unknown): FakeCaller {
  const fake = new FakeCaller()
    .add("infra", "create_cache", () => ({}))
    .add("infra", "delete_cache", () => ({}))
    .add("infra", "create_db", () => ({}))
    .add("infra", "infra_preflight", (args) => answer(args["tools"] as string[]))
    .add("tk", "toolkit_call", () => ({}))
    .add("tk", "tk_preflight", (args) => ({ ok: true, problems: [], asked: args["tools"] }))
    .add("plain", "echo", () => ({}));
  for (const tool of fake.tools) if (tool.name.endsWith("_preflight")) tool.meta = { [PREFLIGHT_META_KEY]: true };
  return fake;
}

function prepare(fake: FakeCaller) {
  const validation = validatePlan(
    {
      name: "p",
      steps: [
        { id: "db", tool: "infra.create_db", dependencies: [], params: {} },
        { id: "cache", tool: "infra.create_cache", dependencies: [], params: {}, rollback: { tool: "infra.delete_cache", params: {} } },
        { id: "brokered", tool: "tk.toolkit_call", dependencies: [], params: { category: "neon", tool_name: "neon_create_project", arguments: {} } },
        { id: "say", tool: "plain.echo", dependencies: ["db"], params: {} },
      ],
    },
    { tools: fake.tools },
  );
  if (!validation.ok) throw new Error(JSON.stringify(validation.problems));
  return validation.prepared;
}

describe("preflight", () => {
  it("asks each server with a preflight tool about its steps' tools (rollbacks and brokered tools too), in parallel, and skips the rest", async () => {
    const fake = caller(() => ({ ok: true, problems: [] }));
    expect(await preflight(prepare(fake), fake)).toEqual([]);
    const asked = Object.fromEntries(fake.calls.map((c) => [`${c.server}.${c.tool}`, c.args["tools"]]));
    expect(asked).toEqual({
      "infra.infra_preflight": ["create_db", "create_cache", "delete_cache"],
      "tk.tk_preflight": ["toolkit_call", "neon_create_project"],
    });
    expect(fake.calls.some((c) => c.server === "plain")).toBe(false);
  });

  it("maps each problem to the steps it stops, one line with its fix", async () => {
    const fake = caller(() => ({
      ok: false,
      problems: [{ tools: ["create_cache", "delete_cache"], problem: "no Redis answers at redis://127.0.0.1:6379", fix: "install redis-server" }],
    }));
    const problems = await preflight(prepare(fake), fake);
    expect(problems).toEqual([
      { server: "infra", steps: ["cache"], tools: ["create_cache", "delete_cache"], message: "no Redis answers at redis://127.0.0.1:6379", fix: "install redis-server" },
    ]);
    expect(formatPreflightProblem(problems[0]!)).toBe(
      "step cache (infra.create_cache, infra.delete_cache): no Redis answers at redis://127.0.0.1:6379 — fix: install redis-server",
    );
  });

  it("reports a server whose preflight fails or answers something else as a problem of all its steps", async () => {
    const failing = caller(() => {
      throw new ToolCallError("TRANSPORT", "infra.infra_preflight: connection closed", true);
    });
    const [problem] = await preflight(prepare(failing), failing);
    expect(problem).toMatchObject({ server: "infra", steps: ["db", "cache"], message: "infra_preflight failed: infra.infra_preflight: connection closed" });
    const odd = caller(() => "fine");
    expect((await preflight(prepare(odd), odd))[0]?.message).toBe("infra_preflight failed: its answer is not a preflight result");
  });
});

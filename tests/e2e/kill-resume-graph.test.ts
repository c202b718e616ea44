import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeServer, readCalls, tempDir } from "../helpers/fake-mcp.ts";
import { runCli, savedSteps, startCli, waitFor } from "../helpers/cli.ts";

describe("--scheduler graph: a run killed with SIGKILL resumes without repeating finished steps", () => {
  it("resume completes the run from the plan graph's own checkpoints (nested under the orchestrator)", async () => {
    const dir = tempDir();
    const calls = path.join(dir, "calls.jsonl");
    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { delays: { slow: 4000 } }) } }));
    const work = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: id } });
    // a and slow start together (one superstep); a finishes at once, slow is in flight when killed.
    writeFileSync(path.join(dir, "plan.json"), JSON.stringify({ name: "kill me", steps: [work("a"), work("slow"), work("b", ["a"]), work("c", ["b", "slow"])] }));
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, "home") };
    const args = ["run", "--plan", path.join(dir, "plan.json"), "--mcp-config", path.join(dir, "mcp.json"), "--thread", "kill-g", "--scheduler", "graph", "--json"];

    const first = startCli(args, env);
    await waitFor(() => readCalls(calls).some((c) => c.name === "a") && readCalls(calls).some((c) => c.name === "slow"), 30_000, "a and slow to start");
    await waitFor(() => savedSteps(env.CREDIT_OPTIMIZER_HOME, "kill-g").has("a"), 30_000, "a's result to be saved as the superstep's pending write");
    first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.signal).toBe("SIGKILL");
    expect(readCalls(calls).some((c) => c.name === "b")).toBe(false);

    const resumed = await runCli(["resume", "kill-g", "--json"], env);
    expect(resumed.stderr).not.toMatch(/error/i);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { status: string; steps: { id: string; status: string }[] };
    expect(report.status).toBe("succeeded");
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([["a", "succeeded"], ["slow", "succeeded"], ["b", "succeeded"], ["c", "succeeded"]]);

    const count = (name: string): number => readCalls(calls).filter((c) => c.name === name && c.tool === "work").length;
    expect(count("a")).toBe(1);
    expect(count("b")).toBe(1);
    expect(count("c")).toBe(1);
    expect(count("slow")).toBe(2); // in flight when killed: it runs again
  });
});

import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeServer, readCalls, release, tempDir } from "../helpers/fake-mcp.ts";
import { runCli, savedSteps, startCli, waitFor } from "../helpers/cli.ts";

describe("a run killed with SIGKILL resumes without repeating finished steps", () => {
  it("resume completes the run; finished steps are called once", async () => {
    const dir = tempDir();
    const calls = path.join(dir, "calls.jsonl");
    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { delays: { slow: 4000 } }) } }));
    const work = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: id } });
    writeFileSync(
      path.join(dir, "plan.json"),
      JSON.stringify({ name: "kill me", steps: [work("a"), work("b", ["a"]), work("slow"), work("c", ["b", "slow"])] }),
    );
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, "home") };
    const args = ["run", "--plan", path.join(dir, "plan.json"), "--mcp-config", path.join(dir, "mcp.json"), "--thread", "kill-1", "--json"];

    const first = startCli(args, env);
    await waitFor(() => readCalls(calls).some((c) => c.name === "b") && readCalls(calls).some((c) => c.name === "slow"), 30_000, "a, b and slow to start");
    await waitFor(() => savedSteps(env.CREDIT_OPTIMIZER_HOME, "kill-1").has("b"), 30_000, "b's result to be saved");
    first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.signal).toBe("SIGKILL");
    expect(readCalls(calls).some((c) => c.name === "c")).toBe(false);

    const resumed = await runCli(["resume", "kill-1", "--json"], env);
    expect(resumed.stderr).not.toMatch(/error/i);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { status: string; steps: { id: string; status: string }[] };
    expect(report.status).toBe("succeeded");
    expect(report.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);

    const count = (name: string): number => readCalls(calls).filter((c) => c.name === name && c.tool === "work").length;
    expect(count("a")).toBe(1);
    expect(count("b")).toBe(1);
    expect(count("c")).toBe(1);
    expect(count("slow")).toBe(2); // in flight when killed: it runs again
  });

  it("a large plan killed while one slow step runs: resume calls only that step again", async () => {
    // 400 steps: 398 quick ones (20 chains) finish while `slow` runs; `end` waits for both. In segments
    // of 250 steps (the version before the step journal), the quick steps after the first segment
    // would wait for `slow`, and they would not all have been called before it ends.
    const dir = tempDir();
    const calls = path.join(dir, "calls.jsonl");
    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { delays: { slow: 20_000 } }) } }));
    const work = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: id } });
    const quick = Array.from({ length: 398 }, (_, i) => work(`w${i}`, i >= 20 ? [`w${i - 20}`] : []));
    writeFileSync(path.join(dir, "plan.json"), JSON.stringify({ name: "kill me big", steps: [work("slow"), ...quick, work("end", ["slow", "w397"])] }));
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, "home") };
    const args = ["run", "--plan", path.join(dir, "plan.json"), "--mcp-config", path.join(dir, "mcp.json"), "--thread", "kill-big", "--json"];

    const first = startCli(args, env);
    await waitFor(() => readCalls(calls).some((c) => c.name === "slow"), 30_000, "slow to start");
    const slowAt = readCalls(calls).find((c) => c.name === "slow")!.at;
    await waitFor(() => readCalls(calls).filter((c) => c.name.startsWith("w")).length === quick.length, 15_000, "every quick step to be called while slow runs");
    await waitFor(
      () => {
        const saved = savedSteps(env.CREDIT_OPTIMIZER_HOME, "kill-big");
        return quick.every((s) => saved.has(s.id));
      },
      15_000,
      "every quick step's result to be saved",
    );
    expect(Date.now() - slowAt).toBeLessThan(20_000);
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    expect(readCalls(calls).some((c) => c.name === "end")).toBe(false);

    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls) } }));
    const resumed = await runCli(["resume", "kill-big", "--json"], env);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { status: string; steps: { id: string; status: string }[] };
    expect(report.status).toBe("succeeded");
    expect(report.steps).toHaveLength(400);
    const counts = new Map<string, number>();
    for (const c of readCalls(calls).filter((c) => c.tool === "work")) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
    expect(quick.filter((s) => counts.get(s.id) !== 1).map((s) => [s.id, counts.get(s.id)])).toEqual([]);
    expect(counts.get("slow")).toBe(2); // in flight when killed: it runs again
    expect(counts.get("end")).toBe(1);
  });

  it("a thread killed under the executor-only version is refused by name, and nothing is called", async () => {
    // The fixture is the checkpoint file of a run killed mid-way by the version before the one
    // pipeline (plan "kill me": a and b finished, slow in flight, c not started).
    const dir = tempDir();
    const home = path.join(dir, "home");
    mkdirSync(home);
    copyFileSync(path.join(import.meta.dirname, "../fixtures/legacy/executor-only-thread.sqlite"), path.join(home, "checkpoints.sqlite"));
    const calls = path.join(dir, "calls.jsonl");
    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls) } }));
    const result = await runCli(["resume", "legacy-1", "--mcp-config", path.join(dir, "mcp.json")], { CREDIT_OPTIMIZER_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('thread "legacy-1" (plan "kill me") was started by an earlier version');
    expect(result.stderr).toContain("credit-optimizer run --plan");
    expect(existsSync(calls)).toBe(false);
  });

  it("resume of an unknown thread is bad input (exit 2)", async () => {
    const dir = tempDir();
    const result = await runCli(["resume", "nope"], { CREDIT_OPTIMIZER_HOME: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no run found on thread "nope"');
  });

  it("SIGTERM: no new step starts, finished steps are rolled back, and resume runs the plan again", async () => {
    const dir = tempDir();
    const calls = path.join(dir, "calls.jsonl");
    // slow, once called, waits for `held`: the stop is seen while it runs, however slow the machine.
    const held = path.join(dir, "slow.release");
    writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { hold: { slow: held } }) } }));
    const work = (id: string, dependencies: string[] = []) => ({ id, tool: "infra.work", dependencies, params: { name: id } });
    writeFileSync(path.join(dir, "plan.json"), JSON.stringify({ name: "stop me", steps: [work("a"), work("slow"), work("c", ["a", "slow"])] }));
    const env = { CREDIT_OPTIMIZER_HOME: path.join(dir, "home") };
    const run = startCli(["run", "--plan", path.join(dir, "plan.json"), "--mcp-config", path.join(dir, "mcp.json"), "--thread", "term-1", "--json"], env);
    let stderr = "";
    run.child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => readCalls(calls).some((c) => c.name === "slow"), 30_000, "slow to start");
    run.child.kill("SIGTERM");
    await waitFor(() => stderr.includes("stopping: no new steps start"), 30_000, "the stop to be seen while slow runs");
    release(held);
    const stopped = await run.done;
    expect(stopped.code).toBe(1);
    const report = JSON.parse(stopped.stdout) as { status: string; steps: { id: string; status: string }[] };
    expect(report.status).toBe("cancelled");
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([["a", "succeeded"], ["slow", "succeeded"], ["c", "skipped"]]);
    expect(readCalls(calls).filter((c) => c.tool === "undo").map((c) => c.name).sort()).toEqual(["a", "slow"]);

    const resumed = await runCli(["resume", "term-1", "--json"], env);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as { status: string }).status).toBe("succeeded");
    expect(readCalls(calls).filter((c) => c.tool === "work" && c.name === "c")).toHaveLength(1);
  });
});

import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { openRoot } from "../../src/run/root.ts";
import { startViewer } from "../../src/ui/server.ts";
import { runMain, startCli, waitFor, runCli } from "../helpers/cli.ts";
import { fakeServer, readCalls, tempDir, type FakeOptions } from "../helpers/fake-mcp.ts";

const work = (id: string, extra: Record<string, unknown> = {}) => ({ id, tool: "infra.work", dependencies: [], params: { name: id }, ...extra });

/** A plan whose `db` step returns a connection string with a password (kept by the run as a secret handle). */
function setup(options: FakeOptions = {}) {
  const dir = tempDir("co-break-");
  const calls = path.join(dir, "calls.jsonl");
  writeFileSync(path.join(dir, "mcp.json"), JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, options) } }));
  const steps = [
    { id: "db", tool: "infra.toolkit_call", dependencies: [], params: { category: "neon", tool_name: "neon_create_project", arguments: { name: "shop" } } },
    work("app", { params: { name: "app-${db.project_id}", value: { url: "${db.connection_string}", region: "${region}" } } }),
    work("done", { dependencies: ["app"] }),
  ];
  writeFileSync(path.join(dir, "plan.json"), JSON.stringify({ name: "break plan", params: { region: "eu-west-1" }, steps }));
  const config = loadConfig({ CREDIT_OPTIMIZER_HOME: path.join(dir, "home") }, dir);
  const base = ["--plan", path.join(dir, "plan.json"), "--mcp-config", path.join(dir, "mcp.json")];
  return { dir, calls, config, base, env: { CREDIT_OPTIMIZER_HOME: path.join(dir, "home") } };
}

const worked = (calls: string): string[] => readCalls(calls).map((c) => `${c.tool}:${c.name}`);

describe("run --break-before: pause before a step, show its resolved inputs, go on or stop", () => {
  it("without a terminal exits 3 with the step's inputs (secrets as handles); resume goes on without repeating finished steps", async () => {
    const s = setup();
    const first = await runMain(["run", ...s.base, "--break-before", "app", "--thread", "bp-go"], s.config);
    expect(first.code).toBe(3);
    expect(first.stderr).toContain('breakpoint: paused before step "app"');
    expect(first.stderr).toContain("app (infra.work) inputs:");
    expect(first.stderr).toContain('"name": "app-prj-shop"');
    expect(first.stderr).toContain('"region": "eu-west-1"');
    expect(first.stderr).toMatch(/"url": "secret:\/\/[0-9a-f]+"/);
    expect(first.stderr).not.toContain("pw-shop");
    expect(first.stderr).toContain("credit-optimizer resume bp-go --reject");
    expect(worked(s.calls)).toEqual(["toolkit_call:neon_create_project"]);

    // resume keeps the breakpoints: a second one, given at the start, pauses too.
    const resumed = await runMain(["resume", "bp-go", "--json"], s.config);
    expect(resumed.stderr).not.toMatch(/error/i);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "succeeded" });
    expect(worked(s.calls)).toEqual(["toolkit_call:neon_create_project", "work:app-prj-shop", "work:done"]);
  });

  it("the viewer shows a run paused at a breakpoint as waiting, with the step it waits before", async () => {
    const s = setup();
    const first = await runMain(["run", ...s.base, "--break-before", "app", "--thread", "bp-view"], s.config);
    expect(first.code).toBe(3);
    const root = await openRoot(s.config);
    let ended: (status: string) => void = () => {};
    const end = new Promise<string>((resolve) => (ended = resolve));
    const viewer = await startViewer(root, { port: 0, pollMs: 600_000, onDriveEnd: (_id, status) => ended(status) });
    try {
      const { runs } = (await (await fetch(`${viewer.url}/api/runs`)).json()) as { runs: { threadId: string; status: string; waiting: boolean }[] };
      expect(runs.find((r) => r.threadId === "bp-view")).toMatchObject({ status: "waiting", waiting: true });
      const view = (await (await fetch(`${viewer.url}/api/runs/bp-view`)).json()) as { status: string; active: boolean; question?: { kind: string; steps: { id: string }[] } };
      expect(view.status).toBe("waiting");
      expect(view.active).toBe(false);
      expect(view.question?.kind).toBe("breakpoint");
      expect(view.question?.steps.map((x) => x.id)).toEqual(["app"]);

      // Going on from the viewer runs the rest, without calling the finished step again.
      const csrf = /name="csrf-token" content="([0-9a-f]+)"/.exec(await (await fetch(viewer.url)).text())![1]!;
      const answered = await fetch(`${viewer.url}/api/runs/bp-view/answer`, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify({ approved: true }) });
      expect(answered.status).toBe(202);
      expect(await end).toBe("succeeded");
      expect(worked(s.calls)).toEqual(["toolkit_call:neon_create_project", "work:app-prj-shop", "work:done"]);
    } finally {
      await viewer.close();
      await root.close();
    }
  });

  it("breakpoints are kept by resume, and --json prints the paused step's inputs", async () => {
    const s = setup();
    const first = await runMain(["run", ...s.base, "--break-before", "app,done", "--thread", "bp-two", "--json"], s.config);
    expect(first.code).toBe(3);
    const paused = JSON.parse(first.stdout) as { outcome: string; question: { kind: string; steps: { id: string; inputs: { name: string } }[] } };
    expect(paused.outcome).toBe("paused_at_breakpoint");
    expect(paused.question.steps.map((x) => [x.id, x.inputs.name])).toEqual([["app", "app-prj-shop"]]);

    const second = await runMain(["resume", "bp-two", "--json"], s.config);
    expect(second.code).toBe(3);
    expect((JSON.parse(second.stdout) as typeof paused).question.steps.map((x) => x.id)).toEqual(["done"]);
    expect(worked(s.calls)).toEqual(["toolkit_call:neon_create_project", "work:app-prj-shop"]);

    const third = await runMain(["resume", "bp-two", "--json"], s.config);
    expect(third.code).toBe(0);
    expect(worked(s.calls)).toEqual(["toolkit_call:neon_create_project", "work:app-prj-shop", "work:done"]);
  });

  it("resume --reject stops before the step and rolls back the finished ones, as Ctrl-C does", async () => {
    const s = setup();
    expect((await runMain(["run", ...s.base, "--break-before", "done", "--thread", "bp-stop"], s.config)).code).toBe(3);
    const stopped = await runMain(["resume", "bp-stop", "--reject", "--json"], s.config);
    expect(stopped.code).toBe(1);
    const report = JSON.parse(stopped.stdout) as { status: string; steps: { id: string; status: string }[] };
    expect(report.status).toBe("cancelled");
    expect(report.steps.map((x) => [x.id, x.status])).toEqual([["db", "succeeded"], ["app", "succeeded"], ["done", "skipped"]]);
    expect(worked(s.calls)).toEqual(["toolkit_call:neon_create_project", "work:app-prj-shop", "undo:app-prj-shop", "undo:neon_create_project"]);
  });

  it("a breakpoint naming no step, or another scheduler, is refused before anything runs", async () => {
    const s = setup();
    const unknown = await runMain(["run", ...s.base, "--break-before", "ghost", "--json"], s.config);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout).problems).toEqual(['step "ghost", breakBefore: no step "ghost" in plan "break plan" (its steps: db, app, done)']);
    const asap = await runMain(["run", ...s.base, "--break-before", "app", "--scheduler", "asap"], s.config);
    expect(asap.code).toBe(2);
    expect(asap.stderr).toContain("--break-before pauses before a step node of the plan's own graph: it runs with --scheduler graph, not asap");
    expect(readCalls(s.calls)).toEqual([]);
  });

  it("killed with SIGKILL before reaching the breakpoint: resume still pauses there, then goes on", async () => {
    const s = setup({ delays: { "app-prj-shop": 4000 } });
    const first = startCli(["run", ...s.base, "--break-before", "done", "--thread", "bp-kill", "--json"], s.env);
    await waitFor(() => readCalls(s.calls).some((c) => c.name === "app-prj-shop"), 60_000, "app to start");
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");

    const resumed = await runCli(["resume", "bp-kill", "--json"], s.env);
    expect(resumed.code).toBe(3);
    expect((JSON.parse(resumed.stdout) as { question: { steps: { id: string }[] } }).question.steps.map((x) => x.id)).toEqual(["done"]);
    const last = await runCli(["resume", "bp-kill", "--json"], s.env);
    expect(last.code).toBe(0);
    const names = readCalls(s.calls).filter((c) => c.tool !== "undo").map((c) => c.name);
    expect(names.filter((n) => n === "neon_create_project")).toHaveLength(1);
    expect(names.filter((n) => n === "done")).toHaveLength(1);
  }, 180_000);
});

import { describe, expect, it } from "vitest";
import { LiveProgress } from "../../src/cli/terminal.ts";
import type { StepResult } from "../../src/engine/run-step.ts";

const result = (id: string, status: StepResult["status"] = "succeeded"): StepResult => ({ id, tool: "t.x", status, attempts: 1, startedAtMs: 0, endedAtMs: 12 });

describe("live progress", () => {
  it("on a terminal: one line per running step with a spinner, redrawn in place; finished steps stay", () => {
    let screen = "";
    const progress = new LiveProgress({ write: (t) => (screen += t), tty: true });
    progress.onEvent({ type: "step_started", id: "db", tool: "toolkit.neon_create_project" });
    progress.onEvent({ type: "step_started", id: "cache", tool: "toolkit.upstash_create_database" });
    expect(screen).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] db \(toolkit\.neon_create_project\)/);
    expect(screen).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] cache \(toolkit\.upstash_create_database\) \d+ms\n$/);
    progress.onEvent({ type: "step_finished", result: result("db") });
    // The two running lines are erased (cursor up 2, clear), the finished line printed, the one still running redrawn.
    const last = screen.slice(screen.lastIndexOf("\x1b[2A\x1b[J"));
    expect(last).toMatch(/^\x1b\[2A\x1b\[J  ✓ db succeeded in 12 ms\n  [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] cache /);
    progress.onEvent({ type: "step_finished", result: result("cache", "failed") });
    progress.stop();
    expect(screen.endsWith("  ✗ cache failed in 12 ms\n")).toBe(true);
  });

  it("elsewhere: one plain line per event, no escape codes", () => {
    let log = "";
    const progress = new LiveProgress({ write: (t) => (log += t), tty: false });
    progress.onEvent({ type: "step_started", id: "db", tool: "toolkit.neon_create_project" });
    progress.onEvent({ type: "step_finished", result: result("db") });
    progress.stop();
    expect(log).toBe("  ▶ db (toolkit.neon_create_project)\n  ✓ db succeeded in 12 ms\n");
  });
});

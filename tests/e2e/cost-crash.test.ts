import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openLedger } from "../../src/cost/ledger.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const at = (file: string): string => JSON.stringify(path.join(ROOT, file));

/**
 * A CLI-like process: the executor graph with the ledger's step recorder on `onEvent`. Steps a and b
 * finish quickly; c (after both) never ends, so the process is mid-run when it is killed.
 */
const CHILD = `
import { compileExecutor } from ${at("graphs/executor.ts")};
import { openLedger } from ${at("src/cost/ledger.ts")};
import { forecastPlan } from ${at("src/cost/forecast.ts")};
import { DEFAULT_PRICING } from ${at("src/cost/pricing.ts")};
import { createStepRecorder, recordRunStart } from ${at("src/cost/recorder.ts")};
import { ServerLimits } from ${at("src/engine/limits.ts")};
import { preparePlan } from ${at("src/plan/validate.ts")};
import { FakeCaller, sleep } from ${at("tests/helpers/fake-caller.ts")};

const caller = new FakeCaller()
  .add("infra", "quick", async () => { await sleep(5); return { ok: true, cost_usd: 0.25 }; })
  .add("infra", "forever", () => new Promise(() => {}));
const plan = {
  name: "crashy",
  steps: [
    { id: "a", tool: "infra.quick" },
    { id: "b", tool: "infra.quick", estimate: { usd: 0.5 } },
    { id: "c", tool: "infra.forever", dependencies: ["a", "b"], timeoutMs: 3600000 },
  ],
};
const ledger = await openLedger({ home: process.argv[2] });
const prepared = preparePlan(plan, { tools: caller.tools });
const forecast = await forecastPlan(prepared, { ledger, pricing: DEFAULT_PRICING });
await recordRunStart(ledger, { runId: "run-crash", request: "crash test", plan: plan.name, forecast, startedAt: Date.now() });
const recorder = createStepRecorder(ledger, "run-crash", prepared);
const ctx = { caller, limits: new ServerLimits(4) };
const graph = compileExecutor({ context: async () => ctx, onEvent: (e) => recorder.onEvent(e) });
await graph.invoke({ plan, scheduler: "asap" }, { configurable: { thread_id: "t" } });
`;

describe("ledger durability", () => {
  it("keeps the steps that finished when the process is killed mid-run", async () => {
    const home = tempDir("co-crash-");
    const script = path.join(home, "child.mts");
    writeFileSync(script, CHILD);
    const child = spawn(process.execPath, ["--import", "tsx", script, home], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    const reader = await openLedger({ home });
    try {
      let recorded = 0;
      for (let i = 0; i < 600 && recorded < 2 && child.exitCode === null; i++) {
        await new Promise((r) => setTimeout(r, 50));
        recorded = (await reader.steps({ runId: "run-crash" }).catch(() => [])).length;
      }
      expect(child.exitCode, stderr).toBeNull();
      child.kill("SIGKILL");
      await exited;
    } finally {
      await reader.close();
    }

    const ledger = await openLedger({ home });
    try {
      const steps = await ledger.steps({ runId: "run-crash" });
      expect(steps.map((s) => [s.stepId, s.tool, s.status, s.attempts, s.usd, s.usdSource]).sort()).toEqual([
        ["a", "infra.quick", "succeeded", 1, 0.25, "measured"],
        ["b", "infra.quick", "succeeded", 1, 0.25, "measured"],
      ]);
      expect(steps.every((s) => s.plan === "crashy" && s.durationMs >= 0)).toBe(true);
      expect((await ledger.runSpend("run-crash")).stepUsd).toBe(0.5);
      const [run] = await ledger.runs({ runId: "run-crash" });
      expect(run).toMatchObject({ plan: "crashy", status: "running", request: "crash test" });
      expect(Object.keys(run!.forecast!).sort()).toEqual(["durationMs", "usd"]);
      expect(run!.endedAt).toBeUndefined();
    } finally {
      await ledger.close();
    }
  });
});

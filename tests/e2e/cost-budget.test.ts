import { Command, MemorySaver } from "@langchain/langgraph";
import { ChatOpenAI } from "@langchain/openai";
import { afterEach, describe, expect, it } from "vitest";
import { compileExecutor } from "../../graphs/executor.ts";
import { checkBudget } from "../../src/cost/budget.ts";
import { CostCallbackHandler } from "../../src/cost/callbacks.ts";
import { forecastPlan } from "../../src/cost/forecast.ts";
import { DEFAULT_PRICING } from "../../src/cost/pricing.ts";
import { ServerLimits } from "../../src/engine/limits.ts";
import type { BudgetRequest } from "../../src/engine/approval.ts";
import { summarizeExecution } from "../../src/engine/report.ts";
import type { ExecState, Scheduler } from "../../src/engine/schedule.ts";
import { preparePlan } from "../../src/plan/validate.ts";
import { FakeCaller, sleep } from "../helpers/fake-caller.ts";
import { startOpenAIStub, type OpenAIStub } from "../helpers/openai-stub.ts";

const pricing = { ...DEFAULT_PRICING, localUrlsFree: false };
const caps = { dailyUsd: 10, monthlyUsd: 200, approvalUsd: 0.5 };

/**
 * generate (a codegen step that calls a model) → deploy → smoke, and an independent slow `notes`
 * step. The plan declares generate at $0.05; the model then uses 200k input tokens on gpt-4o ($0.50+).
 */
const plan = {
  name: "budgeted",
  steps: [
    { id: "generate", tool: "work.generate", estimate: { ms: 10, usd: 0.05 } },
    { id: "notes", tool: "work.notes", estimate: { ms: 10 } },
    { id: "deploy", tool: "work.deploy", dependencies: ["generate"], estimate: { ms: 10 } },
    { id: "smoke", tool: "work.smoke", dependencies: ["deploy"], estimate: { ms: 10 } },
  ],
};

let stub: OpenAIStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function runWithBudget(answer: boolean, scheduler: Scheduler) {
  stub = await startOpenAIStub(() => ({ content: "export const app = 1;", usage: { prompt_tokens: 200_000, completion_tokens: 2_000 } }));
  const costs = new CostCallbackHandler({ pricing, runId: "run-b", agent: "coder" });
  const model = new ChatOpenAI({ model: "gpt-4o", apiKey: "test", configuration: { baseURL: stub.baseUrl }, maxRetries: 0 });
  const timeline: string[] = [];
  const tool = (name: string, ms = 0) => async () => {
    timeline.push(`start ${name}`);
    await sleep(ms);
    // The codegen tool reports what its model call cost, as tools do (cost_usd wins over the estimate).
    if (name === "generate") await model.invoke("write the app", { callbacks: [costs] });
    timeline.push(`end ${name}`);
    return name === "generate" ? { ok: true, cost_usd: costs.totals("run-b").usd } : { ok: true };
  };
  const caller = new FakeCaller().add("work", "generate", tool("generate")).add("work", "notes", tool("notes", 150)).add("work", "deploy", tool("deploy")).add("work", "smoke", tool("smoke"));

  // Before the run: the forecast ($0.05) is under the approval threshold, so it starts without asking.
  const prepared = preparePlan(plan, { tools: caller.tools });
  const forecast = await forecastPlan(prepared, { pricing });
  const before = checkBudget({ forecast, caps, spentToday: 0, spentThisMonth: 0, destructiveSteps: [] });
  expect(before.decision).toBe("ok");

  const ctx = { caller, limits: new ServerLimits(8) };
  const budget = { caps, spentToday: 0, spentThisMonth: 0, runLimitUsd: caps.approvalUsd, otherUsd: 0 };
  const graph = compileExecutor({ context: async () => ctx, budget }, new MemorySaver());
  const thread = { configurable: { thread_id: `b-${scheduler}-${answer}` } };
  await graph.invoke({ plan, scheduler }, thread);
  // The run pauses at the budget interrupt: nothing to answer it in this process but the test.
  const paused = await graph.getState(thread);
  const questions = paused.tasks.flatMap((t) => t.interrupts).map((i) => (i.value as BudgetRequest).question);
  timeline.push("ask");
  const state = (await graph.invoke(new Command({ resume: { approved: answer } }), thread)) as ExecState;
  return { report: summarizeExecution(state), timeline, questions, spent: costs.totals("run-b").usd };
}

for (const scheduler of ["asap", "graph"] as const) describe(`running budget (${scheduler})`, () => {
  it("stops starting steps when a model call overspends, waits for in-flight steps, asks, and resumes on approval", async () => {
    const { report, timeline, questions, spent } = await runWithBudget(true, scheduler);
    expect(spent).toBeCloseTo((200_000 * 2.5 + 2_000 * 10) / 1e6, 12);
    expect(questions).toEqual([`budget: this run has spent $0.5200, over the $0.5000 it was allowed; no new steps start until you approve. Go on?`]);
    // deploy is held: notes (in flight) finishes before the question; deploy starts only after it.
    expect(timeline.indexOf("end notes")).toBeLessThan(timeline.indexOf("ask"));
    expect(timeline.indexOf("ask")).toBeLessThan(timeline.indexOf("start deploy"));
    expect(report.status).toBe("succeeded");
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([["generate", "succeeded"], ["notes", "succeeded"], ["deploy", "succeeded"], ["smoke", "succeeded"]]);
  });

  it("starts nothing more when the person declines, and the run ends without deploying", async () => {
    const { report, timeline, questions } = await runWithBudget(false, scheduler);
    expect(questions).toHaveLength(1);
    expect(timeline).not.toContain("start deploy");
    expect(timeline).not.toContain("start smoke");
    expect(report.status).not.toBe("succeeded");
    const deploy = report.steps.find((s) => s.id === "deploy");
    expect(deploy?.status).toBe("failed");
    expect(deploy?.error?.message).toContain("declined");
    expect(report.steps.find((s) => s.id === "smoke")?.status).toBe("skipped");
  });
});

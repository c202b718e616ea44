import { HumanMessage, SystemMessage, ToolMessage, type AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { ARCHITECT_REPAIR_PROMPT, ARCHITECT_REPLAN_FUNCTION, ARCHITECT_REPLAN_PROMPT, ARCHITECT_SYSTEM_PROMPT } from "../prompts/architect.ts";
import { COST_METADATA } from "../src/cost/callbacks.ts";
import type { StepResult } from "../src/engine/run-step.ts";
import { formatPrompt, quoteData, quoteText } from "../src/models/prompt-format.ts";
import { planModel, type PlanMethod } from "../src/models/streamed-plan.ts";
import { fromStrictPlan, STRICT_STEPS } from "../src/models/strict-plan.ts";
import { toolSignature } from "../src/models/tool-signature.ts";
import { sliceTools } from "../src/planner/tool-slice.ts";
import { formatProblem, validatePlan, type PreparedPlan, type Problem } from "../src/plan/validate.ts";
import { canonicalJson } from "../src/hash.ts";
import type { Step } from "../src/plan/schema.ts";
import { maskSecrets } from "../src/secrets.ts";
import type { RunState, RunUpdate } from "../graphs/state.ts";
import { candidateOf, DEFAULT_MAX_REPAIRS, planSchemaFor } from "./architect.ts";
import type { OrchestratorDeps } from "./deps.ts";
import { agentThread } from "./memory.ts";
import type { ModelUsage, Replan } from "./types.ts";
import { usageOf } from "./usage.ts";

/** Replans after a failure before the run rolls back (CREDIT_OPTIMIZER_MAX_REPLANS; 0 turns it off). */
export const DEFAULT_MAX_REPLANS = 1;

/** How many replans a run may make: deps, else config, else the default. */
export function maxReplans(deps: Pick<OrchestratorDeps, "maxReplans" | "config">): number {
  return deps.maxReplans ?? deps.config.model?.maxReplans ?? DEFAULT_MAX_REPLANS;
}

/**
 * Whether a failure of this execution may wait for a replan instead of rolling back at once: a model
 * is there to ask (offline, nothing changes), the run has replans left, and the scheduler ends in the
 * shared rollback (the graph scheduler rolls back inside its own graph).
 */
export function canReplan(state: RunState, deps: OrchestratorDeps): boolean {
  return state.scheduler !== "graph" && deps.chatModel?.("architect", "replan") !== undefined && state.replans.length < maxReplans(deps);
}

interface ReplanAnswer {
  action: "replace" | "give_up";
  reason: string;
  steps: unknown[];
}

/**
 * The joiner: a step failed after its retries and the rollback waits. The architect is asked once (plus
 * repairs of an invalid answer) whether the goal can still be reached, with the goal, the plan, the
 * finished steps' outputs (handles, secrets masked) and the failure. A replacement for the unfinished
 * part joins the finished steps into one plan, validated like any plan; the orchestrator then sends it
 * through the forecast, the approval and the gate as any plan, and the run goes on without calling the
 * finished steps again. "give_up", an invalid answer or a failed call roll back as before.
 */
export async function replan(state: RunState, deps: OrchestratorDeps, config?: RunnableConfig): Promise<RunUpdate> {
  const halted = state.halted!;
  const ctx = await deps.context();
  const mask = (value: unknown): string => maskSecrets(JSON.stringify(value ?? null));
  const results = Object.values(halted.results);
  const finished = results.filter((r) => r.status === "succeeded");
  const failedResult = results.find((r) => r.status === "failed")!;
  const failed = { step: failedResult.id, tool: failedResult.tool, error: maskSecrets(failedResult.error?.message ?? "failed") };
  const kept = finished.map((r) => r.id);
  const done = (verdict: Replan["verdict"], reason: string, attempts: number, extra: Partial<Replan> = {}, usage: ModelUsage[] = []): RunUpdate => ({
    replans: [{ failed, verdict, reason, kept, attempts, ...tokensOf(usage), ...extra }],
    halted: { ...halted, next: "rollback" },
    usage,
  });
  const picked = deps.chatModel?.("architect", "replan");
  if (!picked) return done("error", "no model to ask", 0);

  const plan = halted.prepared.plan;
  const tools = ctx.caller.tools;
  const library = await deps.library().catch(() => undefined);
  const goal = state.request || plan.description || plan.name;
  const slice = sliceTools(`${goal} ${failed.error}`, tools, { templates: library?.workflows, earlierTools: plan.steps.flatMap((s) => [s.tool, ...(s.rollback ? [s.rollback.tool] : [])]) });
  const messages: BaseMessage[] = [
    new SystemMessage(ARCHITECT_SYSTEM_PROMPT),
    new HumanMessage(formatPrompt(ARCHITECT_REPLAN_PROMPT, {
      goal: quoteData(goal),
      plan: quoteText(mask(plan)),
      finished: quoteText(mask(Object.fromEntries(finished.map((r) => [r.id, r.output ?? null])))),
      failure: quoteText(mask({ ...failed, attempts: failedResult.attempts, code: failedResult.error?.code })),
      not_run: quoteData(results.filter((r) => r.status !== "succeeded" && r.status !== "failed").map((r) => r.id)),
      tool_catalog: quoteText(slice.tools.map(toolSignature).join("\n")),
    })),
  ];
  const method = deps.structuredMethod ?? deps.config.model?.structuredOutput ?? "functionCalling";
  const fn = { ...ARCHITECT_REPLAN_FUNCTION, schema: replanSchemaFor(method) };
  const rules = { tools, allow: ctx.allow, untrusted: ctx.untrusted };
  const usage: ModelUsage[] = [];
  const maxAttempts = (deps.maxRepairs ?? DEFAULT_MAX_REPAIRS) + 1;
  let problems: Problem[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let raw: AIMessage;
    try {
      raw = await planModel(picked.model, method, fn).invoke(messages, {
        ...config,
        runName: "architect",
        metadata: { ...config?.metadata, agent: "architect", step: "replan", attempt, ...(picked.routedFrom ? { [COST_METADATA.routedFrom]: picked.routedFrom } : {}) },
        tags: ["agent:architect", "replan"],
      });
    } catch (error) {
      return done("error", maskSecrets((error as Error).message), attempt, {}, usage);
    }
    usage.push(usageOf("architect", raw, deps, picked));
    const candidate = candidateOf(raw);
    const answer = candidate.ok ? answerOf(method === "jsonSchema" ? fromStrictPlan(candidate.value) : candidate.value) : undefined;
    if (answer?.action === "give_up") {
      await remember(state, deps, failed, `could not plan a repair: ${answer.reason}`);
      return done("gave_up", answer.reason, attempt, {}, usage);
    }
    let prepared: PreparedPlan | undefined;
    if (answer) {
      const steps = answer.steps as { id?: unknown }[];
      const combined = { ...plan, steps: [...plan.steps.filter((s) => kept.includes(s.id)), ...steps] };
      const validation = validatePlan(combined, { ...rules, params: halted.prepared.params });
      if (validation.ok) prepared = validation.prepared;
      else problems = validation.problems;
    } else {
      problems = [{ field: "(reply)", message: candidate.ok ? 'the answer needs action "replace" (with steps) or "give_up", and a reason' : candidate.message }];
    }
    if (prepared) {
      const replacement = prepared.order.filter((id) => !kept.includes(id));
      await remember(state, deps, failed, JSON.stringify(prepared.plan));
      // A destructive call among the new steps needs its own approval, even when the first plan's was given.
      const destructive = prepared.needsApproval.some((entry) => replacement.includes(entry.replace(/ \(rollback\)$/, "")));
      return {
        plan: prepared.plan,
        prepared,
        halted: { ...halted, next: "continue" },
        // The next execution carries the finished results; the failed one stays in `replans`, not among the steps.
        results: null,
        replans: [{ failed, verdict: "replanned", reason: answer!.reason, kept, steps: replacement, attempts: attempt, ...tokensOf(usage), changes: replanChanges(plan.steps.filter((s) => !kept.includes(s.id)), prepared.plan.steps.filter((s) => replacement.includes(s.id))) }],
        usage,
        ...(destructive && state.approval?.by === "human" ? { allowDestructive: false } : {}),
      };
    }
    messages.push(raw);
    const repair = formatPrompt(ARCHITECT_REPAIR_PROMPT, { problems: quoteData(problems.map(formatProblem)), more_tools: "" }).replace("plan function", "replan function");
    const callIds = [...(raw.tool_calls ?? []), ...(raw.invalid_tool_calls ?? [])].map((call, i) => call.id ?? `call_${i}`);
    if (callIds.length > 0) callIds.forEach((id, i) => messages.push(new ToolMessage({ tool_call_id: id, content: i === 0 ? repair : "see above" })));
    else messages.push(new HumanMessage(repair));
  }
  return done("invalid", `no valid replacement in ${maxAttempts} attempt(s)`, maxAttempts, { problems: problems.map(formatProblem) }, usage);
}

function tokensOf(usage: readonly ModelUsage[]): Pick<Replan, "tokens"> {
  return usage.length === 0 ? {} : { tokens: { input: usage.reduce((n, u) => n + u.input_tokens, 0), output: usage.reduce((n, u) => n + u.output_tokens, 0) } };
}

/** The replacement against the unfinished steps it replaced: new steps, dropped ones, and what changed in a step kept by id. */
export function replanChanges(replaced: readonly Step[], replacement: readonly Step[]): string[] {
  const before = new Map(replaced.map((s) => [s.id, s]));
  const lines: string[] = [];
  for (const step of replacement) {
    const old = before.get(step.id);
    if (!old) {
      lines.push(`+ ${step.id} (${step.tool})`);
      continue;
    }
    const fields = (["tool", "params", "dependencies", "rollback", "retry", "timeoutMs"] as const).filter((f) => canonicalJson(old[f] ?? null) !== canonicalJson(step[f] ?? null));
    if (fields.length > 0) lines.push(`~ ${step.id}: ${fields.join(", ")}`);
  }
  const kept = new Set(replacement.map((s) => s.id));
  lines.push(...replaced.filter((s) => !kept.has(s.id)).map((s) => `- ${s.id}`));
  return lines;
}

/** The replan function's schema, in the shape the method needs (strict for jsonSchema). */
export function replanSchemaFor(method: PlanMethod): Record<string, unknown> {
  const steps = method === "jsonSchema" ? STRICT_STEPS : ((planSchemaFor(method)["properties"] as Record<string, unknown>)["steps"] as Record<string, unknown>);
  const properties = {
    action: { type: "string", enum: ["replace", "give_up"] },
    reason: { type: "string" },
    steps: { ...steps, description: 'The replacement steps ([] when giving up).' },
  };
  return { type: "object", properties, required: method === "jsonSchema" ? ["action", "reason", "steps"] : ["action", "reason"], additionalProperties: false };
}

function answerOf(value: unknown): ReplanAnswer | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v["action"] !== "replace" && v["action"] !== "give_up") return undefined;
  if (v["action"] === "replace" && (!Array.isArray(v["steps"]) || v["steps"].length === 0)) return undefined;
  return { action: v["action"], reason: typeof v["reason"] === "string" ? v["reason"] : "", steps: Array.isArray(v["steps"]) ? v["steps"] : [] };
}

/** The replan in the architect's session thread: the failure it was asked about and what it answered. */
async function remember(state: RunState, deps: OrchestratorDeps, failed: Replan["failed"], answer: string): Promise<void> {
  if (!state.session || !deps.memory) return;
  const at = deps.now?.() ?? Date.now();
  await deps.memory.append(agentThread(state.session, "architect"), [
    { role: "user", content: `(replan) step "${failed.step}" failed: ${failed.error}`, at },
    { role: "assistant", content: answer, at },
  ]);
}

/** Succeeded results only: what a run going on after a replan keeps. */
export function finishedResults(results: Record<string, StepResult>): Record<string, StepResult> {
  return Object.fromEntries(Object.entries(results).filter(([, r]) => r.status === "succeeded"));
}

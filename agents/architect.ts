import { AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import {
  ARCHITECT_MORE_TOOLS_PROMPT,
  ARCHITECT_PLAN_FUNCTION,
  ARCHITECT_REPAIR_PROMPT,
  ARCHITECT_REQUEST_PROMPT,
  ARCHITECT_STARTED_PROMPT,
  ARCHITECT_SYSTEM_PROMPT,
} from "../prompts/architect.ts";
import { COST_METADATA } from "../src/cost/callbacks.ts";
import { forecastPlan } from "../src/cost/forecast.ts";
import { createStepRecorder } from "../src/cost/recorder.ts";
import { DEFAULT_PRICING } from "../src/cost/pricing.ts";
import { canonicalJson } from "../src/hash.ts";
import { planCacheKey, type PlanCache } from "../src/cost/plan-cache.ts";
import { resolveTool, type ToolInfo } from "../src/mcp/catalog.ts";
import {
  DEFAULT_MATCH_THRESHOLD,
  formatQuestion,
  planChanges,
  planOffline,
  refersBack,
  asksTeardown,
  teardownName,
  teardownPlan,
  type PlanMemo,
  type PlannerQuestion,
  type Reading,
  type SessionResource,
  type WorkflowLibrary,
  type WorkflowMatch,
} from "../src/planner/index.ts";
import { RESOURCE_LABEL, resourceKindOf } from "../src/planner/inventory.ts";
import type { PlanInput } from "../src/plan/schema.ts";
import { describeModel } from "../src/models/describe.ts";
import { planModel, replyText, streamPlan, type PlanMethod } from "../src/models/streamed-plan.ts";
import { fromStrictPlan, STRICT_PLAN_SCHEMA } from "../src/models/strict-plan.ts";
import { formatPrompt, quoteData, quoteText } from "../src/models/prompt-format.ts";
import { compactSchema, toolSignature } from "../src/models/tool-signature.ts";
import { sliceTools } from "../src/planner/tool-slice.ts";
import { Plan } from "../src/plan/schema.ts";
import { checkArrivedStep, formatProblem, validatePlan, type PreparedPlan, type Problem, type ValidateOptions } from "../src/plan/validate.ts";
import type { RunState } from "../graphs/state.ts";
import type { AgentModel, OrchestratorDeps } from "./deps.ts";
import { agentThread, type MemoryMessage } from "./memory.ts";
import { parseRun, type RememberedRun } from "./reporter.ts";
import { streamedStart, type StreamedStart } from "./streamed-start.ts";
import { usageOf } from "./usage.ts";
import type { ModelUsage, PlannerInfo, PlanStepEvent, StreamedStep, WorkflowChoice } from "./types.ts";

export const DEFAULT_MAX_REPAIRS = 2;

export interface ArchitectUpdate {
  plan?: unknown;
  /** The plan, validated once against the loaded tools, the allow-lists and the pins. */
  prepared?: PreparedPlan;
  planner: PlannerInfo;
  planProblems: string[];
  usage: ModelUsage[];
  outcome?: "planning_failed";
  /** Steps started while the plan streamed: carried into the run, or rolled back when it does not go on. */
  halted?: RunState["halted"];
  /** The offline planner's memo of this plan, kept in the session thread (not in the run state). */
  memo?: PlanMemo;
}

/**
 * The Architect: turns the request (and the session's earlier turns) into a plan. With a model, it
 * asks for structured output and sends invalid plans back with the validation messages; without one,
 * the catalog planner picks and fills a workflow template. Either way the plan is validated against
 * the loaded tools before anyone sees a forecast.
 */
export async function architect(state: RunState, deps: OrchestratorDeps, config?: RunnableConfig): Promise<ArchitectUpdate> {
  const ctx = await deps.context();
  const tools = ctx.caller.tools;
  const rules: ValidateOptions = { tools, allow: ctx.allow, untrusted: ctx.untrusted };
  const history = state.session && deps.memory ? await deps.memory.load(agentThread(state.session, "architect")) : [];
  const model = deps.chatModel?.("architect", "plan");
  // The plan cache covers first requests only: a follow-up depends on the conversation.
  const cache = model && deps.ledger && history.length === 0 ? await cacheUse(state.request, tools, deps, describeModel({ name: model.name, baseUrl: model.baseUrl })) : undefined;
  const cached = cache && !state.fresh ? await cachedPlan(cache, rules) : undefined;
  const update = cached
    ? cached
    : model
      ? await planWithModel(state.request, history, rules, model, deps, config, executeWhileStreaming(state, deps, ctx, rules, config))
      : await planWithCatalog(state.request, history, rules, await deps.library(), deps, state.params, state.session ? await sessionRuns(deps, state.session) : [], state.pickedWorkflow);
  if (cache && !cached && update.plan !== undefined) await cache.cache.put(cache.key, update.plan, update.planner.model ?? "model");
  // A refinement is shown as what changed against the last plan, whichever planner made it.
  const before = lastPlan(history, update.planner.kind === "catalog");
  if (update.plan !== undefined && before && update.planner.reading?.kind !== "new") {
    const changes = planChanges(before, { memo: update.memo, plan: update.plan as PlanInput });
    if (update.planner.reading?.kind === "refinement" || (update.planner.kind === "model" && changes.length > 0)) update.planner.changes = changes;
  }
  // A "did you mean" question is not an answer: the turn is written once, when a person picks.
  const asking = update.plan === undefined && (update.planner.choices?.length ?? 0) > 0 && !(update.planner.missing?.length ?? 0);
  if (state.session && deps.memory && !asking) {
    const answer = update.plan !== undefined ? JSON.stringify(update.plan) : `could not plan: ${update.planProblems.join("; ")}`;
    const at = deps.now?.() ?? Date.now();
    await deps.memory.append(agentThread(state.session, "architect"), [
      { role: "user", content: state.request, at },
      // Only a plan's memo is kept: the next turn edits the last plan, not a question or a failure.
      { role: "assistant", content: answer, at, ...(update.plan !== undefined && update.memo ? { memo: update.memo } : {}) },
    ]);
  }
  const { memo: _memo, ...rest } = update;
  return rest;
}

/** The session's last plan (and its memo, when the offline planner made it). */
function lastPlan(history: readonly MemoryMessage[], withMemo: boolean): { memo?: PlanMemo; plan?: PlanInput } | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const m = history[i]!;
    // The offline planner edits the last plan it made (a memo), not a teardown of it.
    if (m.role !== "assistant" || m.content.startsWith("could not plan") || (withMemo && !m.memo)) continue;
    try {
      return { memo: m.memo, plan: JSON.parse(m.content) as PlanInput };
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The session's earlier runs that succeeded and were not torn down since, oldest first (the reporter's thread). */
async function sessionRuns(deps: OrchestratorDeps, session: string): Promise<RememberedRun[]> {
  if (!deps.memory) return [];
  const runs = (await deps.memory.load(agentThread(session, "reporter"))).map((m) => parseRun(m.content)).filter((r): r is RememberedRun => r !== undefined && r.status === "succeeded");
  return runs.filter((r) => !runs.some((later) => later.plan === teardownName(r.plan, r.runId)));
}

interface CacheUse {
  cache: PlanCache;
  key: string;
}

async function cacheUse(request: string, tools: readonly ToolInfo[], deps: OrchestratorDeps, model: string): Promise<CacheUse> {
  const library = await deps.library().catch(() => undefined);
  return { cache: deps.ledger!.planCache, key: planCacheKey(request, tools, (library?.workflows ?? []).map((w) => w.id), model) };
}

/** The stored plan for this request, if it is still valid against the loaded tools. */
async function cachedPlan(use: CacheUse, rules: ValidateOptions): Promise<ArchitectUpdate | undefined> {
  const hit = await use.cache.get(use.key);
  const validation = hit ? validatePlan(hit.plan, rules) : undefined;
  if (!hit || !validation?.ok) return undefined;
  return {
    plan: hit.plan,
    prepared: validation.prepared,
    planner: { kind: "model", model: hit.planner, cached: true, attempts: 0, reason: `reused the plan ${hit.planner} made for this request before (no model call, 0 tokens; --fresh plans anew)` },
    planProblems: [],
    usage: [],
  };
}

/**
 * Whether steps may start while the plan streams: a run that will execute (not `plan` or `--dry-run`)
 * and does not ask before every run (chat by default),
 * a streamed plan, and not turned off. The threshold is the lower of `--budget` and the approval threshold.
 */
function executeWhileStreaming(state: RunState, deps: OrchestratorDeps, ctx: Awaited<ReturnType<OrchestratorDeps["context"]>>, rules: ValidateOptions, config: RunnableConfig | undefined): (() => StreamedStart) | undefined {
  const runId = String(config?.configurable?.["thread_id"] ?? "");
  // Chat asks before every run (`confirm`) unless set to run without asking (`:auto`, `--yes`):
  // starting steps before that answer would make the question moot.
  if (state.dryRun || state.confirm || deps.streamPlans === false || deps.executeWhileStreaming === false) return undefined;
  const thresholdUsd = Math.min(state.budgetUsd ?? Number.POSITIVE_INFINITY, deps.config.budgets.approvalUsd);
  const pricing = deps.pricing ?? DEFAULT_PRICING;
  const ledger = deps.ledger;
  return () =>
    streamedStart({
      ctx,
      rules,
      thresholdUsd,
      limitUsd: thresholdUsd,
      forecastUsd: async (prepared) => (await forecastPlan(prepared, { ledger: deps.ledger, pricing, tools: ctx.caller.tools })).usd.p90,
      signal: deps.cancelSignal,
      stopSignal: deps.stopSignal,
      onEvent: deps.onEvent,
      node: config as LangGraphRunnableConfig | undefined,
      // In the ledger like the executor's steps: one row per finished call.
      record: ledger && runId ? async (step, result, prepared) => {
        const recorder = createStepRecorder(ledger, runId, { plan: { ...prepared.plan, steps: [step] } }, { pricing, tools: ctx.caller.tools });
        recorder.onEvent({ type: "step_finished", result });
        await recorder.flush();
      } : undefined,
    });
}

async function planWithModel(
  request: string,
  history: readonly MemoryMessage[],
  rules: ValidateOptions,
  first: AgentModel,
  deps: OrchestratorDeps,
  config?: RunnableConfig,
  startWhileStreaming?: () => StreamedStart,
): Promise<ArchitectUpdate> {
  const library = await deps.library().catch(() => undefined);
  const tools = rules.tools ?? [];
  const slice = sliceTools(request, tools, { templates: library?.workflows, earlierTools: toolsOf(history) });
  const sent = new Set(slice.tools.map((t) => `${t.server}.${t.name}`));
  const messages: BaseMessage[] = [
    new SystemMessage(ARCHITECT_SYSTEM_PROMPT),
    ...history.map((m) => (m.role === "user" ? new HumanMessage(m.content) : new AIMessage(m.content))),
    new HumanMessage(formatPrompt(ARCHITECT_REQUEST_PROMPT, {
      tool_catalog: quoteText(slice.tools.map(toolSignature).join("\n")),
      workflow_examples: quoteData(library ? workflowExample(slice.templates[0]?.id, library) : null),
      request,
    })),
  ];
  const method = deps.structuredMethod ?? deps.config.model?.structuredOutput ?? "functionCalling";
  const fn = { ...ARCHITECT_PLAN_FUNCTION, schema: planSchemaFor(method) };
  const decode = decoderFor(method);
  const writer = (config as LangGraphRunnableConfig | undefined)?.writer;
  // Repairs may be routed to another model (routing rule "architect/repair").
  const repairModel = deps.chatModel?.("architect", "repair") ?? first;
  const modelName = describeModel({ name: first.name, baseUrl: first.baseUrl });
  const maxAttempts = (deps.maxRepairs ?? DEFAULT_MAX_REPAIRS) + 1;
  const usage: ModelUsage[] = [];
  let problems: Problem[] = [];
  let streamed: StreamedStep[] = [];
  // Only the first answer's steps start while it streams; a repair's wait for the whole plan.
  const starter = startWhileStreaming?.();
  const signal = anySignal([config?.signal, deps.stopSignal, deps.cancelSignal]);
  const stopped = (): boolean => deps.stopSignal?.aborted === true || deps.cancelSignal?.aborted === true;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const picked = attempt === 1 ? first : repairModel;
    const callConfig: RunnableConfig = {
      ...config,
      ...(signal ? { signal } : {}),
      runName: "architect",
      metadata: { ...config?.metadata, agent: "architect", attempt, ...(picked.routedFrom ? { [COST_METADATA.routedFrom]: picked.routedFrom } : {}) },
      tags: ["agent:architect"],
    };
    let raw: AIMessage;
    if (deps.streamPlans !== false) {
      const arrived: StreamedStep[] = [];
      const streaming = streamPlan(planModel(picked.model, method, fn), messages, callConfig, {
        // Each step is judged the moment it is complete, against the tools and the steps before it.
        onStep: ({ index, step, plan, atMs }) => {
          const judged = decode(plan) as Record<string, unknown>;
          const verdict = checkArrivedStep(judged, index, rules);
          if (attempt === 1) starter?.offer(judged, index, verdict);
          const id = typeof (step as { id?: unknown } | null)?.id === "string" ? (step as { id: string }).id : `#${index}`;
          const entry: StreamedStep = { id, atMs: Math.round(atMs), status: verdict.status, ...(verdict.problems.length ? { problems: verdict.problems.map(formatProblem) } : {}) };
          arrived.push(entry);
          const tool = (step as { tool?: unknown } | null)?.tool;
          const event: PlanStepEvent = { kind: "plan_step", attempt, ...entry, ...(typeof tool === "string" ? { tool } : {}) };
          writer?.(event);
        },
      });
      try {
        raw = await streaming;
      } catch (error) {
        // Ctrl-C while the plan streams: the model call is aborted; what started is rolled back by execute.
        if (!stopped() || !starter) throw error;
        const halted = await startedPart(starter, rules, "rollback");
        return { planner: { kind: "model", model: modelName, attempts: attempt, streamed: withDecisions(arrived, starter), reason: "stopped while the plan streamed" }, planProblems: ["the run was stopped while the plan streamed"], usage, outcome: "planning_failed", ...(halted ? { halted } : {}) };
      }
      if (attempt === 1 && starter) await starter.decided();
      streamed = attempt === 1 && starter ? withDecisions(arrived, starter) : arrived;
    } else {
      raw = await planModel(picked.model, method, fn).invoke(messages, callConfig);
    }
    usage.push(usageOf("architect", raw, deps, picked));
    const candidate = decoded(deps.streamPlans !== false ? streamedCandidateOf(raw as AIMessageChunk) : candidateOf(raw), decode);
    const validation = candidate.ok ? validatePlan(candidate.value, rules) : undefined;
    if (validation?.ok) {
      const early = starter ? await starter.finish() : undefined;
      const changed = (early?.steps ?? []).filter((s) => canonicalJson(validation.prepared.plan.steps.find((f) => f.id === s.id)) !== canonicalJson(s)).map((s) => s.id);
      if (early && Object.keys(early.results).length > 0 && changed.length > 0) {
        const halted = await startedPart(starter!, rules, "rollback");
        return { planner: { kind: "model", model: modelName, attempts: attempt, reason: "the repaired plan changed steps that had started" }, planProblems: [`the repaired plan changed steps that had already started (${changed.join(", ")}): they are rolled back`], usage, outcome: "planning_failed", ...(halted ? { halted } : {}) };
      }
      // The started part is its own small plan: what execute rolls back if the run does not go on.
      const started = early && Object.keys(early.results).length > 0 ? await startedPart(starter!, rules, "continue") : undefined;
      const carried = started ? { halted: started } : {};
      return {
        ...carried,
        plan: candidate.ok ? candidate.value : undefined,
        prepared: validation.prepared,
        planner: { kind: "model", model: modelName, attempts: attempt, ...(streamed.length ? { streamed } : {}), reason: attempt === 1 ? "the model's first plan was valid" : `the model repaired its plan after ${attempt - 1} invalid attempt(s)` },
        planProblems: [],
        usage,
      };
    }
    problems = validation && !validation.ok ? validation.problems : [{ field: "(reply)", message: candidate.ok ? "invalid plan" : candidate.message }];
    messages.push(raw);
    // A plan may name a tool it was not shown; the repair then shows it, so the model can fix its params.
    const unsent = unsentTools(candidate.ok ? candidate.value : undefined, tools, sent);
    unsent.forEach((t) => sent.add(`${t.server}.${t.name}`));
    const started = starter ? (await starter.finish()).steps.map((s) => s.id) : [];
    const moreTools = (started.length > 0 ? formatPrompt(ARCHITECT_STARTED_PROMPT, { steps: quoteData(started) }) : "") +
      (unsent.length > 0 ? formatPrompt(ARCHITECT_MORE_TOOLS_PROMPT, { tool_catalog: quoteText(unsent.map(toolSignature).join("\n")) }) : "");
    const repair = formatPrompt(ARCHITECT_REPAIR_PROMPT, { problems: quoteData(problems.map(formatProblem)), more_tools: moreTools });
    // Every call in the reply (valid or not) needs its tool answer before the next request.
    const callIds = [...(raw.tool_calls ?? []), ...(raw.invalid_tool_calls ?? [])].map((call, i) => call.id ?? `call_${i}`);
    if (callIds.length > 0) callIds.forEach((id, i) => messages.push(new ToolMessage({ tool_call_id: id, content: i === 0 ? repair : "see above" })));
    else messages.push(new HumanMessage(repair));
  }
  const halted = starter ? await startedPart(starter, rules, "rollback") : undefined;
  return {
    planner: { kind: "model", model: modelName, attempts: maxAttempts, reason: `the model returned no valid plan in ${maxAttempts} attempt(s)` },
    planProblems: problems.map(formatProblem),
    usage,
    outcome: "planning_failed",
    ...(halted ? { halted } : {}),
  };
}

/** The steps that started while the plan streamed, as a plan of their own with their results (undefined when none did). */
async function startedPart(starter: StreamedStart, rules: ValidateOptions, next: "continue" | "rollback"): Promise<RunState["halted"]> {
  const { results, steps, params } = await starter.finish();
  if (steps.length === 0) return undefined;
  const validation = validatePlan({ name: "(started while streaming)", params, steps }, { ...rules, params: {} });
  if (!validation.ok) throw new Error(`steps started while streaming no longer validate: ${validation.problems.map(formatProblem).join("; ")}`);
  return { prepared: validation.prepared, results, next, by: "stream" };
}

function withDecisions(arrived: readonly StreamedStep[], starter: StreamedStart): StreamedStep[] {
  return arrived.map((entry) => {
    const decision = starter.decisions.get(entry.id);
    if (!decision) return entry;
    return decision.started ? { ...entry, started: true } : { ...entry, held: decision.reason };
  });
}

function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 0 ? undefined : present.length === 1 ? present[0] : AbortSignal.any(present);
}

async function planWithCatalog(
  request: string,
  history: readonly MemoryMessage[],
  rules: ValidateOptions,
  library: WorkflowLibrary,
  deps: OrchestratorDeps,
  values: Record<string, unknown>,
  runs: readonly RememberedRun[],
  workflow: string | undefined,
): Promise<ArchitectUpdate> {
  // "tear it down": the last run's own delete calls, which the create tools returned.
  const target = asksTeardown(request) ? runs.filter((r) => (r.undo?.length ?? 0) > 0).at(-1) : undefined;
  if (target) {
    const plan = teardownPlan(target.plan, target.runId, target.undo!);
    const validation = validatePlan(plan, rules);
    const planner: PlannerInfo = {
      kind: "catalog",
      reading: { kind: "reference", reason: `tears down what ${target.runId} ("${target.plan}") created, with the delete calls its create steps returned` },
      reason: `the request points at the session's last run`,
    };
    if (!validation.ok) return { planner, planProblems: validation.problems.map(formatProblem), usage: [], outcome: "planning_failed" };
    return { plan, prepared: validation.prepared, planner, planProblems: [], usage: [] };
  }
  const made = runs.flatMap((r) => r.created ?? []).reverse();
  // The last plan's memo lets a follow-up ("make it eu-central-1") edit that plan; threads written
  // before memos were kept fall back to replaying the earlier requests.
  const previous = history.findLast((m) => m.memo !== undefined)?.memo;
  const kept = history.some((m) => m.role === "assistant" && m.memo !== undefined);
  const earlier = kept ? undefined : history.filter((m) => m.role === "user").map((m) => m.content);
  const options = { library, inventory: deps.inventory, previous, earlier, workflow };
  let result = await planOffline(request, { ...options, values });
  let referred: { values: Record<string, unknown>; used: string[] } | undefined;
  // "tear it down": ids nobody typed are what this session's earlier runs made.
  if (result.kind === "question" && made.length > 0 && refersBack(request)) {
    referred = fromSession(result.questions, library, made);
    if (referred.used.length > 0) result = await planOffline(request, { ...options, values: { ...referred.values, ...values } });
  }
  if (result.kind === "none") {
    return {
      planner: { kind: "catalog", closest: result.closest, choices: choicesOf(result.closest, library), reading: result.reading, reason: result.message },
      planProblems: [result.message],
      usage: [],
      outcome: "planning_failed",
    };
  }
  const reading: Reading = referred?.used.length ? { kind: "reference", reason: `points at what this session made: ${referred.used.join(", ")}` } : result.reading;
  const params = result.params.map((p) => (referred && Object.hasOwn(referred.values, p.name) && !Object.hasOwn(values, p.name) ? { ...p, source: "inventory" as const, note: "made earlier in this session" } : p));
  const [first] = result.workflows;
  const planner: PlannerInfo = {
    kind: "catalog",
    workflow: first,
    workflows: result.workflows,
    params,
    filled: params.filter((p) => p.source !== "default").map((p) => `${p.name} = ${JSON.stringify(p.value)} (${p.source}${p.text ? `: "${p.text}"` : ""}${p.note ? `; ${p.note}` : ""})`),
    closest: result.closest,
    reading,
    reason: workflow
      ? `workflow "${workflow}", picked from the workflows that came close (score ${first?.score ?? 0})`
      : `${result.workflows.length > 1 ? "workflows" : "workflow"} ${result.workflows.map((w) => `"${w.id}" (score ${w.score}; words: ${w.matched.join(", ") || "none"})`).join(" + ")} matched the request`,
  };
  if (result.kind === "question") {
    return { planner: { ...planner, missing: result.questions }, planProblems: result.questions.map(formatQuestion), usage: [], outcome: "planning_failed" };
  }
  const validation = validatePlan(result.plan, rules);
  if (!validation.ok) {
    return { planner, planProblems: validation.problems.map(formatProblem), usage: [], outcome: "planning_failed" };
  }
  return { plan: result.plan, prepared: validation.prepared, planner, planProblems: [], usage: [], memo: result.memo };
}

/** "Did you mean": the runners-up close enough to offer (a share of the threshold), with their one-line descriptions. */
function choicesOf(closest: readonly WorkflowMatch[], library: WorkflowLibrary): WorkflowChoice[] {
  return closest
    .filter((m) => m.score >= DEFAULT_MATCH_THRESHOLD / 3)
    .map((m) => ({ id: m.id, name: m.name, description: library.workflows.find((w) => w.id === m.id)?.description ?? "" }));
}

/** Answers the planner's missing-id questions with the newest resource of that kind this session made. */
function fromSession(questions: readonly PlannerQuestion[], library: WorkflowLibrary, made: readonly SessionResource[]): { values: Record<string, unknown>; used: string[] } {
  const values: Record<string, unknown> = {};
  const used: string[] = [];
  for (const q of questions) {
    if (q.why !== "missing" && q.why !== "not_found") continue;
    const template = library.workflows.find((w) => w.id === q.workflow);
    const kind = template ? resourceKindOf(template, q.param) : undefined;
    const found = kind ? made.find((r) => r.kind === kind) : undefined;
    if (!found || Object.hasOwn(values, q.param)) continue;
    values[q.param] = found.id;
    used.push(`${RESOURCE_LABEL[found.kind]} "${found.name}" (${found.run})`);
  }
  return { values, used };
}

/** The closest template as one worked example: a request it answers and its plan (estimates, retries and timeouts left out: they teach no shape). */
function workflowExample(id: string | undefined, library: WorkflowLibrary): unknown {
  const t = id ? library.workflows.find((w) => w.id === id) : undefined;
  if (!t) return null;
  return { request: t.examples[0] ?? t.description, params: Object.keys(t.params.shape ?? {}), plan: { ...t.plan, steps: t.plan.steps.map(({ estimate: _e, retry: _r, timeoutMs: _t, ...step }) => step) } };
}

/** Tools the session's earlier plans used (assistant turns hold the plan JSON). */
function toolsOf(history: readonly MemoryMessage[]): string[] {
  return history.flatMap((m) => {
    if (m.role !== "assistant") return [];
    try {
      const plan = JSON.parse(m.content) as { steps?: { tool?: unknown; rollback?: { tool?: unknown } }[] };
      return (plan.steps ?? []).flatMap((s) => [s.tool, s.rollback?.tool].filter((t): t is string => typeof t === "string"));
    } catch {
      return [];
    }
  });
}

/** Loaded tools a candidate plan names (steps and rollbacks) that were not in the list sent. */
function unsentTools(candidate: unknown, tools: readonly ToolInfo[], sent: ReadonlySet<string>): ToolInfo[] {
  const steps = (candidate as { steps?: unknown } | undefined)?.steps;
  if (!Array.isArray(steps)) return [];
  const named = new Set(steps.flatMap((s: { tool?: unknown; agent?: unknown; rollback?: { tool?: unknown } }) =>
    [s?.tool, s?.rollback?.tool].filter((t): t is string => typeof t === "string").flatMap((ref) => {
      const hit = resolveTool(ref, tools, typeof s.agent === "string" ? s.agent : undefined);
      return hit.ok ? [`${hit.resolved.server}.${hit.resolved.tool}`] : [];
    })));
  return tools.filter((t) => named.has(`${t.server}.${t.name}`) && !sent.has(`${t.server}.${t.name}`));
}

export type Candidate = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * The plan schema for the way it is asked: strict `json_schema` gets the strict shape (OpenAI refuses
 * the zod schema's optional fields and open records there); function calling and JSON mode get the
 * compact schema, which Ollama, vLLM and LM Studio take as it is.
 */
export function planSchemaFor(method: PlanMethod): Record<string, unknown> {
  return method === "jsonSchema" ? STRICT_PLAN_SCHEMA : (compactSchema(toJsonSchema(Plan)) as Record<string, unknown>);
}

/** Turns what the model sent into the plan's own shape (strict replies encode open records as strings). */
function decoderFor(method: PlanMethod): (value: unknown) => unknown {
  return method === "jsonSchema" ? fromStrictPlan : (value) => value;
}

function decoded(candidate: Candidate, decode: (value: unknown) => unknown): Candidate {
  return candidate.ok ? { ok: true, value: decode(candidate.value) } : candidate;
}

/**
 * The plan in a streamed reply, parsed strictly: the chunk's `tool_calls` come from a partial-JSON
 * parser, which turns a reply cut short into a shorter plan instead of an error.
 */
function streamedCandidateOf(raw: AIMessageChunk): Candidate {
  const text = replyText(raw);
  const called = (raw.tool_call_chunks?.length ?? 0) > 0;
  try {
    return { ok: true, value: JSON.parse(text.replace(/\s*```\s*$/, "")) };
  } catch {
    return { ok: false, message: called ? `the plan function's arguments are not JSON: ${text.slice(0, 200)}` : "the reply is neither a plan function call nor JSON" };
  }
}

/** The plan the model sent: the function call's arguments, or JSON text. */
export function candidateOf(raw: AIMessage): Candidate {
  const call = raw.tool_calls?.[0];
  if (call) return { ok: true, value: call.args };
  const invalid = raw.invalid_tool_calls?.[0];
  if (invalid) return { ok: false, message: `the plan function's arguments are not JSON: ${invalid.error ?? String(invalid.args).slice(0, 200)}` };
  const text = typeof raw.content === "string" ? raw.content : raw.content.map((c) => ("text" in c ? String(c.text) : "")).join("");
  const json = text.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, "");
  try {
    return { ok: true, value: JSON.parse(json) };
  } catch {
    return { ok: false, message: "the reply is neither a plan function call nor JSON" };
  }
}

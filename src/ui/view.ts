import type { StateSnapshot } from "@langchain/langgraph";
import type { RunState } from "../../graphs/state.ts";
import type { ModelCallRecord, ProgressRecord, RunRecord, StepRecord } from "../cost/ledger.ts";
import type { StepResult } from "../engine/run-step.ts";
import type { Range } from "../cost/types.ts";
import { criticalPath } from "../plan/dag.ts";
import type { RunQuestion } from "../run/drive.ts";
import type { RunHead } from "./threads.ts";

/** How the viewer colours a step: the executor's statuses plus what it infers while a run proceeds. */
export type NodeStatus = "pending" | "running" | "succeeded" | "failed" | "skipped" | "held" | "rolled_back";

/** One row of the runs page. */
export interface RunSummary {
  threadId: string;
  plan: string;
  /** Where the run stands: the executor's status, or `waiting` / `running` / `planned` / the outcome. */
  status: string;
  planner?: string;
  startedAt?: number;
  durationMs?: number;
  forecastMs?: Range;
  usd?: number;
  forecastUsd?: Range;
  waiting: boolean;
  /** The worker that ran it, when the run records one (BullMQ workers). */
  worker?: string;
}

/** The latest progress a running step's tool reported. */
export interface StepProgress {
  progress: number;
  total?: number;
  message?: string;
  at: number;
  /** 0–100 when the tool said how much there is in all. */
  percent?: number;
}

export interface DagNode {
  id: string;
  tool: string;
  agent?: string;
  status: NodeStatus;
  critical: boolean;
  progress?: StepProgress;
}

export interface DagEdge {
  from: string;
  to: string;
  /** Added by the validator because the step reads `${from.…}`, not declared in `dependencies`. */
  implied: boolean;
  critical: boolean;
}

/** One try of a step's call on the timeline; `error` for a try that failed (and was retried, or ended the step). */
export interface TimelineSegment {
  startMs: number;
  endMs: number;
  error?: string;
}

/** A bar on the timeline: a step's run or a compensation, with a segment per attempt when the engine recorded them. */
export interface TimelineBar {
  id: string;
  kind: "step" | "compensation";
  status: string;
  startMs: number;
  endMs: number;
  attempts: number;
  segments: TimelineSegment[];
}

export interface StepDetail {
  id: string;
  tool: string;
  agent?: string;
  status: NodeStatus;
  params: unknown;
  output?: unknown;
  error?: unknown;
  reason?: string;
  attempts?: number;
  rollback?: unknown;
  forecastMs?: Range;
  forecastUsd?: number;
  ms?: number;
  /** What it cost (the ledger), when it was recorded. */
  usd?: number;
  progress?: StepProgress;
  thinking?: ThinkingMessage[];
}

/** A call the waiting approval would allow that may destroy data: a step's own tool, or its rollback. */
export interface DestructiveCall {
  step: string;
  /** `server.tool`. */
  tool: string;
  rollback: boolean;
}

/** Everything the run page draws. Secret-looking values are masked by the server before sending. */
export interface RunView extends RunSummary {
  request: string;
  active: boolean;
  question?: RunQuestion;
  /**
   * When the question is the pre-run approval of a plan with destructive calls: those calls. Approving
   * them is its own choice (the answer must say `destructive: true`), apart from approving the budget.
   */
  destructive: DestructiveCall[];
  nodes: DagNode[];
  edges: DagEdge[];
  timeline: TimelineBar[];
  steps: StepDetail[];
  notes: string[];
  problems: string[];
  usage: RunState["usage"];
  /** Every model call of the run, from the ledger (the agents' and the ones tools reported). */
  modelCalls: ModelCallCost[];
  /** The forecast per agent and model (p50 and p90 USD). */
  modelForecast: { agent: string; model: string; usd: Range }[];
  summary?: string;
  plan_json?: unknown;
}

/** Thoughts recorded by thinking-tool steps (a `thought` param), in session and thought order. */
function thinkingOf(steps: readonly { id: string; agent?: string; params: Record<string, unknown> }[], results: Record<string, StepResult>): (ThinkingMessage & { agent?: string })[] {
  return steps
    .filter((s) => typeof s.params["thought"] === "string")
    .map((s) => {
      const output = results[s.id]?.output as { sessionId?: unknown; thoughtNumber?: unknown } | undefined;
      const session = typeof output?.sessionId === "string" ? output.sessionId : typeof s.params["sessionId"] === "string" ? s.params["sessionId"] : undefined;
      const number = typeof output?.thoughtNumber === "number" ? output.thoughtNumber : typeof s.params["thoughtNumber"] === "number" ? s.params["thoughtNumber"] : undefined;
      const message: ThinkingMessage & { agent?: string } = { step: s.id, thought: s.params["thought"] as string };
      if (s.agent !== undefined) message.agent = s.agent;
      if (session !== undefined) message.session = session;
      if (number !== undefined) message.number = number;
      return message;
    })
    .sort((a, b) => (a.session ?? "").localeCompare(b.session ?? "") || (a.number ?? 0) - (b.number ?? 0));
}

function segmentsOf(spans: StepResult["attemptSpans"]): TimelineSegment[] {
  return (spans ?? []).map((a) => ({ startMs: a.startedAtMs, endMs: a.endedAtMs, ...(a.error ? { error: `${a.error.code}: ${a.error.message}` } : {}) }));
}

/** The question a snapshot waits at, if any. */
export function questionOf(snapshot: StateSnapshot): RunQuestion | undefined {
  return snapshot.tasks.flatMap((t) => t.interrupts).map((i) => i.value as RunQuestion)[0];
}

function plannerText(p: RunState["planner"]): string | undefined {
  if (!p) return undefined;
  if (p.kind === "model") return `model${p.model ? ` ${p.model}` : ""}`;
  if (p.kind === "catalog") return `catalog${p.workflow ? ` (${p.workflow.id})` : ""}`;
  return p.kind;
}

function statusOf(head: RunHead): string {
  if (head.waiting) return "waiting";
  const outcome = head.report?.outcome ?? head.outcome;
  if (outcome) return outcome === "executed" ? (head.report?.status ?? head.status ?? "executed") : outcome;
  if (head.next.length > 0) return head.approved ? "running" : "planning";
  return head.status ?? "pending";
}

/** A row of the runs page from a thread's head (see listRunHeads) and its ledger record (when it reached execution). */
export function summarizeHead(head: RunHead, record: RunRecord | undefined): RunSummary {
  const summary: RunSummary = {
    threadId: head.threadId,
    plan: head.planName ?? head.report?.plan ?? record?.plan ?? "(no plan yet)",
    status: statusOf(head),
    planner: plannerText(head.planner),
    startedAt: record?.startedAt ?? head.startedAt ?? head.updatedAt,
    durationMs: head.report?.actual?.ms ?? record?.actual?.durationMs,
    forecastMs: head.forecast?.durationMs ?? record?.forecast?.durationMs,
    usd: head.report?.actual?.usd ?? record?.actual?.usd,
    forecastUsd: head.forecast?.usd ?? record?.forecast?.usd,
    waiting: head.waiting,
  };
  if (head.worker) summary.worker = head.worker;
  return summary;
}

/** The same head read from a loaded state (the run page). */
export function headOfSnapshot(threadId: string, snapshot: StateSnapshot, question = questionOf(snapshot)): RunHead {
  const values = (snapshot.values ?? {}) as Partial<RunState> & { worker?: unknown };
  const fromPlan = (values.plan as { name?: unknown } | undefined)?.name;
  const createdAt = snapshot.createdAt ? Date.parse(snapshot.createdAt) : undefined;
  const head: RunHead = {
    threadId,
    cursor: "",
    approved: values.approval?.approved === true,
    next: [...snapshot.next],
    waiting: question !== undefined,
  };
  const planName = values.prepared?.plan.name ?? (typeof fromPlan === "string" ? fromPlan : undefined);
  if (planName !== undefined) head.planName = planName;
  if (createdAt !== undefined) head.updatedAt = createdAt;
  if (values.planner) head.planner = values.planner;
  if (values.report) head.report = values.report;
  if (values.outcome) head.outcome = values.outcome;
  if (values.forecast) head.forecast = values.forecast;
  if (values.status) head.status = values.status;
  const worker = typeof values.worker === "string" ? values.worker : undefined;
  if (worker) head.worker = worker;
  return head;
}

/** A row of the runs page from a loaded state. */
export function summarize(threadId: string, snapshot: StateSnapshot, record: RunRecord | undefined, question = questionOf(snapshot)): RunSummary {
  return summarizeHead(headOfSnapshot(threadId, snapshot, question), record);
}

/** What the ledger holds of a run beside its record: live progress, and what each step and model call cost. */
export interface RunLedger {
  progress?: readonly ProgressRecord[];
  steps?: readonly StepRecord[];
  modelCalls?: readonly ModelCallRecord[];
  /** The breakpoint the run is paused at (read from the plan graph's checkpoint: see src/run/breakpoint.ts). */
  breakpoint?: RunQuestion;
}

/** A thought a step recorded through a thinking tool (`thought` in its params), in its session. */
export interface ThinkingMessage {
  step: string;
  session?: string;
  number?: number;
  thought: string;
}

/** One model call against what was forecast for its agent and model. */
export interface ModelCallCost {
  agent: string;
  model: string;
  stepId?: string;
  inputTokens: number;
  outputTokens: number;
  usd: number;
  known: boolean;
  at: number;
}

/** The run page's model: the DAG (declared and implied edges, critical path), the timeline, each step, the costs, live progress. */
export function runView(threadId: string, snapshot: StateSnapshot, record: RunRecord | undefined, ledger: RunLedger = {}): RunView {
  const progress = ledger.progress ?? [];
  const question = questionOf(snapshot) ?? ledger.breakpoint;
  const summary = summarize(threadId, snapshot, record, question);
  const values = (snapshot.values ?? {}) as Partial<RunState>;
  const prepared = values.prepared;
  const results = values.results ?? {};
  const compensations = values.compensations ?? [];
  const active = !question && snapshot.next.length > 0;
  const undone = new Set((values.outcomes ?? []).filter((o) => o.outcome === "undone").map((o) => o.step));
  const steps = prepared?.plan.steps ?? [];
  const deps = prepared?.deps ?? {};
  const statusOfStep = (id: string): NodeStatus => {
    const r = results[id];
    if (r) return undone.has(id) ? "rolled_back" : r.status;
    // Results are checkpointed as each step finishes: a step whose dependencies all succeeded has started.
    const ready = (deps[id] ?? []).every((d) => results[d]?.status === "succeeded");
    return active && values.approval?.approved && ready ? "running" : "pending";
  };
  const finished = Object.keys(results).length > 0;
  const critical = new Set(
    finished && prepared
      ? criticalPath(prepared.order, deps, (id) => (results[id] ? results[id].endedAtMs - results[id].startedAtMs : 0)).path
      : (values.forecast?.criticalPath ?? []),
  );
  // Progress belongs to a step while it runs: a report left from before it finished is not shown.
  const reported = new Map(progress.map((p) => [p.stepId, p]));
  const progressOf = (id: string): StepProgress | undefined => {
    const p = reported.get(id);
    if (!p || results[id] || !active) return undefined;
    const percent = p.total ? Math.max(0, Math.min(100, Math.round((p.progress / p.total) * 100))) : undefined;
    return { progress: p.progress, at: p.at, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.message !== undefined ? { message: p.message } : {}), ...(percent !== undefined ? { percent } : {}) };
  };
  const nodes: DagNode[] = steps.map((s) => {
    const node: DagNode = { id: s.id, tool: prepared?.tools[s.id] ? `${prepared.tools[s.id]!.server}.${prepared.tools[s.id]!.tool}` : s.tool, agent: s.agent, status: statusOfStep(s.id), critical: critical.has(s.id) };
    const p = progressOf(s.id);
    // A step that reports progress has certainly started, whatever its dependencies' saved results say.
    if (p) Object.assign(node, { progress: p, status: "running" });
    return node;
  });
  const edges: DagEdge[] = steps.flatMap((s) =>
    (deps[s.id] ?? []).map((d) => ({ from: d, to: s.id, implied: !s.dependencies.includes(d), critical: critical.has(d) && critical.has(s.id) })),
  );
  const timeline: TimelineBar[] = [
    ...Object.values(results)
      .filter((r) => r.endedAtMs > 0)
      .map((r) => ({ id: r.id, kind: "step" as const, status: undone.has(r.id) ? "rolled_back" : r.status, startMs: r.startedAtMs, endMs: r.endedAtMs, attempts: r.attempts, segments: segmentsOf(r.attemptSpans) })),
    ...compensations.map((c) => ({ id: c.step, kind: "compensation" as const, status: c.status, startMs: c.startedAtMs, endMs: c.endedAtMs, attempts: c.attempts, segments: segmentsOf(c.attemptSpans) })),
  ].sort((a, b) => a.startMs - b.startMs);
  const perStep = new Map((values.forecast?.perStep ?? []).map((f) => [f.id, f]));
  // Actual USD per step: its own row, plus the model calls its tool reported (workspace codegen).
  const actualUsd = new Map<string, number>();
  for (const row of ledger.steps ?? []) actualUsd.set(row.stepId, (actualUsd.get(row.stepId) ?? 0) + row.usd);
  for (const call of ledger.modelCalls ?? []) if (call.stepId) actualUsd.set(call.stepId, (actualUsd.get(call.stepId) ?? 0) + call.usd);
  const thoughts = thinkingOf(steps, results);
  const details: StepDetail[] = steps.map((s) => {
    const r = results[s.id];
    const node = nodes.find((n) => n.id === s.id)!;
    // The thinking session of the step's agent (or of the thinking step itself).
    const session = thoughts.filter((t) => t.step === s.id || (s.agent !== undefined && t.agent === s.agent));
    return {
      usd: actualUsd.get(s.id),
      thinking: session.length ? session.map(({ agent: _agent, ...t }) => t) : undefined,
      id: s.id,
      tool: node.tool,
      agent: s.agent,
      status: node.status,
      progress: node.progress,
      params: s.params,
      output: r?.output,
      error: r?.error,
      reason: r?.reason,
      attempts: r?.attempts,
      rollback: s.rollback,
      forecastMs: perStep.get(s.id)?.ms,
      forecastUsd: perStep.get(s.id)?.usd,
      ms: r ? r.endedAtMs - r.startedAtMs : undefined,
    };
  });
  const toolName = (t: { server: string; tool: string } | undefined, fallback: string): string => (t ? `${t.server}.${t.tool}` : fallback);
  const destructive: DestructiveCall[] =
    question?.kind === "approval"
      ? question.decision.destructiveSteps.map((entry) => {
          const rollback = entry.endsWith(" (rollback)");
          const id = rollback ? entry.slice(0, -" (rollback)".length) : entry;
          const step = steps.find((x) => x.id === id);
          return { step: id, rollback, tool: rollback ? toolName(prepared?.rollbackTools[id], step?.rollback?.tool ?? "?") : toolName(prepared?.tools[id], step?.tool ?? "?") };
        })
      : [];
  return {
    ...summary,
    request: values.request ?? "",
    active,
    question,
    destructive,
    nodes,
    edges,
    timeline,
    steps: details,
    notes: prepared?.notes ?? [],
    problems: [...(values.planProblems ?? []), ...(values.problems ?? []).map((p) => `${p.step ? `step "${p.step}", ` : ""}${p.field ?? ""}: ${p.message}`)],
    usage: values.usage ?? [],
    modelCalls: (ledger.modelCalls ?? []).map((c) => ({ agent: c.agent, model: c.model, ...(c.stepId ? { stepId: c.stepId } : {}), inputTokens: c.inputTokens, outputTokens: c.outputTokens, usd: c.usd, known: c.known, at: c.at })),
    modelForecast: (values.forecast?.models ?? []).map((m) => ({ agent: m.agent, model: m.model, usd: m.usd })),
    summary: values.report?.summary,
    plan_json: values.plan,
  };
}

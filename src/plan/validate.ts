import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { findTool, resolveTool, type ResolvedTool, type ToolInfo } from "../mcp/catalog.ts";
import type { AllowPolicy } from "../policy/allow.ts";
import { brokeredTool, checkRules, type GatedCall } from "../policy/gate.ts";
import { findCycle, topologicalOrder } from "./dag.ts";
import { findReferences, type Reference } from "./interpolate.ts";
import { checkOutputPath, typeOf } from "./output-refs.ts";
import { Plan } from "./schema.ts";

/** One thing wrong with a plan: the step (when there is one), the field, and what is wrong. */
export interface Problem {
  step?: string;
  field: string;
  message: string;
}

/** A valid plan with everything the executor needs resolved. */
export interface PreparedPlan {
  plan: Plan;
  /** Plan parameters: declared defaults overridden by `--param`. */
  params: Record<string, unknown>;
  /** Step ids in a fixed topological order (plan order among independent steps). */
  order: string[];
  /** Declared plus implied dependencies. */
  deps: Record<string, string[]>;
  /** Step id → the server and tool it calls. */
  tools: Record<string, ResolvedTool>;
  /** Step id → the server and tool of its declared rollback. */
  rollbackTools: Record<string, ResolvedTool>;
  /** Calls that may destroy data, so they run only with approval: a step id, or `<step> (rollback)`. */
  needsApproval: string[];
  /** Why some calls are decided only when they are made (a brokered tool named by a reference). */
  atCallTime: string[];
  notes: string[];
}

export type Validation = { ok: true; prepared: PreparedPlan } | { ok: false; problems: Problem[]; notes: string[] };

export class PlanValidationError extends Error {
  readonly code = "PLAN_INVALID";
  constructor(readonly problems: Problem[]) {
    super(`the plan is invalid:\n${problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}`);
    this.name = "PlanValidationError";
  }
}

export function isPlanValidationError(error: unknown): error is PlanValidationError {
  return error instanceof PlanValidationError;
}

export function formatProblem(p: Problem): string {
  return p.step === undefined ? `${p.field}: ${p.message}` : `step "${p.step}", ${p.field}: ${p.message}`;
}

export interface ValidateOptions {
  /** The loaded tools; without them tool names and params are not checked. */
  tools?: readonly ToolInfo[];
  /** `--param key=value` overrides. */
  params?: Record<string, unknown>;
  /** Per-agent tool allow-lists; a step outside its agent's list is a problem. */
  allow?: AllowPolicy;
  /** Servers whose tools changed since they were pinned: steps that use them are problems. */
  untrusted?: Record<string, string[]>;
}

/** Checks everything that can be checked before anything runs; never throws. */
export function validatePlan(input: unknown, options: ValidateOptions = {}): Validation {
  const parsed = Plan.safeParse(input);
  if (!parsed.success) return { ok: false, problems: schemaProblems(input, parsed.error.issues), notes: [] };
  const plan = parsed.data;
  const problems: Problem[] = [];
  const notes: string[] = [];

  const params = resolveParams(plan, options.params ?? {}, problems);
  const idSet = new Set<string>();
  for (const [i, step] of plan.steps.entries()) {
    if (idSet.has(step.id)) problems.push({ step: step.id, field: `steps[${i}].id`, message: `duplicate step id "${step.id}"` });
    idSet.add(step.id);
  }

  const deps: Record<string, string[]> = {};
  for (const step of plan.steps) {
    const own = (deps[step.id] ??= []);
    for (const dep of step.dependencies) {
      if (dep === step.id) problems.push({ step: step.id, field: "dependencies", message: "a step cannot depend on itself" });
      else if (!idSet.has(dep)) problems.push({ step: step.id, field: "dependencies", message: `unknown step "${dep}"` });
      else if (!own.includes(dep)) own.push(dep);
    }
    for (const ref of findReferences(step.params)) {
      checkReference(step.id, ref, idSet, params, problems, () => {
        if (ref.root !== step.id && !own.includes(ref.root)) {
          own.push(ref.root);
          notes.push(`step "${step.id}" reads ${ref.text} in ${ref.field}: added the implied dependency on "${ref.root}"`);
        }
      }, false);
    }
    if (step.rollback) {
      for (const ref of findReferences(step.rollback.params, "rollback.params")) {
        checkReference(step.id, ref, idSet, params, problems, () => {}, true);
      }
    }
  }

  const uniqueIds = [...idSet];
  const order = topologicalOrder(uniqueIds, deps);
  if (!order) {
    const cycle = findCycle(uniqueIds, deps) ?? [];
    problems.push({ step: cycle[0], field: "dependencies", message: `dependency cycle: ${cycle.join(" → ")}` });
  }

  const tools: Record<string, ResolvedTool> = {};
  const rollbackTools: Record<string, ResolvedTool> = {};
  const needsApproval: string[] = [];
  const atCallTime: string[] = [];
  if (options.tools) {
    // The gate's own rules, decided here where they can be: the same refusals before the run as at the call.
    const gate = (call: GatedCall, label: string): void => {
      const rules = { tools: options.tools!, allow: options.allow, untrusted: options.untrusted, beforeRun: true };
      const verdict = checkRules(call, { ...rules, allowDestructive: true });
      if (!verdict.ok) problems.push({ step: call.step, field: label, message: verdict.message });
      else if (!checkRules(call, { ...rules, allowDestructive: false }).ok) needsApproval.push(label === "tool" ? call.step : `${call.step} (rollback)`);
      if (brokeredTool(call.server, call.tool, call.args) === "deferred") {
        atCallTime.push(`step "${call.step}" ${label === "tool" ? "" : "rollback "}brokers a tool named by a reference (${String(call.args["tool_name"])}): its allow-list and destructive checks are made when it is called`);
      }
    };
    for (const step of plan.steps) {
      const resolution = resolveTool(step.tool, options.tools, step.agent);
      if (!resolution.ok) {
        problems.push({ step: step.id, field: "tool", message: resolution.message });
        continue;
      }
      tools[step.id] = resolution.resolved;
      gate({ step: step.id, agent: step.agent, ...resolution.resolved, args: step.params, origin: "step" }, "tool");
      const info = findTool(options.tools, resolution.resolved);
      if (info) problems.push(...checkParams(info, step.id, step.params, "params"));
      if (step.rollback) {
        const rb = resolveTool(step.rollback.tool, options.tools, step.agent);
        if (!rb.ok) problems.push({ step: step.id, field: "rollback.tool", message: rb.message });
        else {
          rollbackTools[step.id] = rb.resolved;
          gate({ step: step.id, agent: step.agent, ...rb.resolved, args: step.rollback.params, origin: "plan-rollback" }, "rollback.tool");
          const rbInfo = findTool(options.tools, rb.resolved);
          if (rbInfo) problems.push(...checkParams(rbInfo, step.id, step.rollback.params, "rollback.params"));
        }
      }
    }
  }

  if (options.tools) checkOutputReferences(plan, tools, options.tools, problems, notes);

  if (problems.length > 0 || !order) return { ok: false, problems, notes };
  return { ok: true, prepared: { plan, params, order, deps, tools, rollbackTools, needsApproval, atCallTime, notes } };
}

/** How a streamed step stands against the tools and the steps that arrived before it. */
export type StepVerdict =
  | { status: "ok"; problems: [] }
  /** Wrong whatever comes later in the stream: schema, tool, params, allow-lists, a duplicate id. */
  | { status: "invalid"; problems: Problem[] }
  /** Names a step or parameter that has not arrived (yet): decided when the plan is whole. */
  | { status: "waiting"; problems: Problem[] };

/**
 * Validates step `index` of a plan that is still arriving (`plan.steps` ends with it), with the same
 * rules as validatePlan run on the plan so far. Only the new step's problems count: the earlier ones
 * were judged when they arrived. A problem that a later step or parameter could still resolve makes
 * the step wait rather than fail.
 */
export function checkArrivedStep(plan: Record<string, unknown>, index: number, options: ValidateOptions = {}): StepVerdict {
  const steps = Array.isArray(plan["steps"]) ? (plan["steps"] as unknown[]).slice(0, index + 1) : [];
  const raw = steps[index] as { id?: unknown } | undefined;
  const id = typeof raw?.id === "string" ? raw.id : `#${index}`;
  const name = typeof plan["name"] === "string" && plan["name"] !== "" ? plan["name"] : "(arriving)";
  const result = validatePlan({ ...plan, name, steps }, { ...options, params: {} });
  if (result.ok) return { status: "ok", problems: [] };
  const own = result.problems.filter((p) => p.step === id || p.field.startsWith(`steps.${index}.`));
  const later = (p: Problem): boolean => /^unknown step "|names no step or plan parameter|has no default: pass --param/.test(p.message) || /^params\./.test(p.field);
  const invalid = own.filter((p) => !later(p));
  if (invalid.length > 0) return { status: "invalid", problems: invalid };
  return own.length > 0 ? { status: "waiting", problems: own } : { status: "ok", problems: [] };
}

/** Like validatePlan, but throws PlanValidationError listing every problem. */
export function preparePlan(input: unknown, options: ValidateOptions = {}): PreparedPlan {
  const result = validatePlan(input, options);
  if (!result.ok) throw new PlanValidationError(result.problems);
  return result.prepared;
}

function resolveParams(plan: Plan, overrides: Record<string, unknown>, problems: Problem[]): Record<string, unknown> {
  const declared = plan.params ?? {};
  const params: Record<string, unknown> = { ...declared };
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(declared, name)) {
      const known = Object.keys(declared);
      problems.push({
        field: `--param ${name}`,
        message: `the plan declares no parameter "${name}" (${known.length ? `declared: ${known.join(", ")}` : "it declares none"})`,
      });
    } else params[name] = value;
  }
  for (const [name, value] of Object.entries(params)) {
    if (value === null) problems.push({ field: `params.${name}`, message: `parameter "${name}" has no default: pass --param ${name}=…` });
  }
  return params;
}

function checkReference(
  stepId: string,
  ref: Reference,
  ids: Set<string>,
  params: Record<string, unknown>,
  problems: Problem[],
  onStepRef: () => void,
  inRollback: boolean,
): void {
  if (ids.has(ref.root)) {
    if (ref.root === stepId && !inRollback) {
      problems.push({ step: stepId, field: ref.field, message: `${ref.text} reads the step's own output, which does not exist yet` });
    } else onStepRef();
    return;
  }
  if (Object.hasOwn(params, ref.root)) {
    if (ref.path.length > 0) problems.push({ step: stepId, field: ref.field, message: `${ref.text}: plan parameter "${ref.root}" has no fields` });
    return;
  }
  problems.push({ step: stepId, field: ref.field, message: `${ref.text} names no step or plan parameter` });
}

/**
 * `${step.path}` against the referenced step's declared outputSchema: a path the schema does not
 * have is a problem naming the fields it does have; a whole-string reference whose type cannot
 * fit the parameter is a problem too. Without an outputSchema the path is only known at run time,
 * and a note says so.
 */
function checkOutputReferences(
  plan: Plan,
  tools: Record<string, ResolvedTool>,
  loaded: readonly ToolInfo[],
  problems: Problem[],
  notes: string[],
): void {
  const ids = new Set(plan.steps.map((s) => s.id));
  for (const step of plan.steps) {
    const own = tools[step.id] ? findTool(loaded, tools[step.id]!) : undefined;
    const refs = [...findReferences(step.params), ...(step.rollback ? findReferences(step.rollback.params, "rollback.params") : [])];
    const runtimeOnly = new Map<string, string[]>();
    for (const ref of refs) {
      if (!ids.has(ref.root) || !tools[ref.root]) continue;
      const source = outputSource(plan, ref.root, tools[ref.root]!, loaded);
      if (!source) continue;
      const name = source.via ? `${source.server}.${source.name} via ${source.via}` : `${source.server}.${source.name}`;
      if (ref.path.length === 0 || (ref.path.length === 1 && ref.path[0] === "text")) {
        // The whole output and its text exist for every tool.
        if (source.outputSchema) checkFit(step.id, ref, ref.path.length === 0 ? { type: "object" } : { type: "string" }, own, problems);
        continue;
      }
      if (!source.outputSchema) {
        runtimeOnly.set(ref.root, [...(runtimeOnly.get(ref.root) ?? []), ref.text]);
        continue;
      }
      const check = checkOutputPath(source.outputSchema, ref.path);
      const step0 = `step "${ref.root}" (${name})`;
      if (check.kind === "missing") {
        const have = check.fields.length > 0 ? `its outputSchema declares: ${check.fields.join(", ")}` : "its outputSchema declares no fields there";
        problems.push({ step: step.id, field: ref.field, message: `${ref.text}: the output of ${step0} has no field "${ref.root}.${check.at}" (${have})` });
      } else if (check.kind === "not-object") {
        const at = check.at === "" ? `the output of ${step0}` : `"${ref.root}.${check.at}"`;
        problems.push({ step: step.id, field: ref.field, message: `${ref.text}: ${at} is ${article(check.type)} ${check.type} by its outputSchema and has no fields` });
      } else if (check.kind === "open") {
        runtimeOnly.set(ref.root, [...(runtimeOnly.get(ref.root) ?? []), ref.text]);
      } else checkFit(step.id, ref, check.schema, own, problems);
    }
    for (const [root, texts] of runtimeOnly) {
      const source = outputSource(plan, root, tools[root]!, loaded)!;
      const why = source.outputSchema ? "leaves that part of its outputSchema open" : "declares no outputSchema";
      notes.push(`step "${step.id}" reads ${texts.join(", ")}: checked at run time, since ${source.server}.${source.name} (step "${root}") ${why}`);
    }
  }
}

/**
 * The tool whose output a step returns: its own, or for a broker step (`toolkit_call` with a
 * literal `tool_name`) the inner tool of the same server, whose outputSchema describes the result.
 */
function outputSource(plan: Plan, id: string, resolved: ResolvedTool, loaded: readonly ToolInfo[]): (ToolInfo & { via?: string }) | undefined {
  const info = findTool(loaded, resolved);
  if (!info) return undefined;
  const inner = plan.steps.find((s) => s.id === id)?.params["tool_name"];
  if (typeof inner !== "string" || inner.includes("${")) return info;
  const target = findTool(loaded, { server: resolved.server, tool: inner });
  return target?.outputSchema ? { ...target, via: info.name } : info;
}

/** A whole-string reference keeps its JSON type, so it must be a type the parameter accepts. */
function checkFit(stepId: string, ref: Reference, value: Record<string, unknown>, own: ToolInfo | undefined, problems: Problem[]): void {
  if (!ref.whole || !own) return;
  const base = ref.field.startsWith("rollback.params") ? undefined : ref.field.replace(/^params\.?/, "");
  if (base === undefined || base === "" || /\[/.test(base)) return;
  const target = checkOutputPath(own.inputSchema, base.split("."), false);
  if (target.kind !== "ok") return;
  const want = typeOf(target.schema);
  const have = typeOf(value);
  if (want === undefined || have === undefined || want === have) return;
  if ((want === "number" && have === "integer") || (want === "integer" && have === "number")) return;
  problems.push({
    step: stepId,
    field: ref.field,
    message: `${ref.text} is ${article(have)} ${have} (by the outputSchema of step "${ref.root}"), but ${own.server}.${own.name} wants ${article(want)} ${want} here${have === "object" || have === "array" ? `; embed it in text ("… ${ref.text} …") to pass it as JSON text` : ""}`,
  });
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? "an" : "a";
}

function schemaProblems(input: unknown, issues: readonly { path: PropertyKey[]; message: string }[]): Problem[] {
  const steps = typeof input === "object" && input !== null && Array.isArray((input as { steps?: unknown }).steps)
    ? ((input as { steps: unknown[] }).steps)
    : [];
  return issues.map((issue) => {
    const path = issue.path.map(String);
    if (path[0] === "steps" && path[1] !== undefined && /^\d+$/.test(path[1])) {
      const raw = steps[Number(path[1])] as { id?: unknown } | undefined;
      const id = typeof raw?.id === "string" ? raw.id : `#${path[1]}`;
      return { step: id, field: path.slice(2).join(".") || "(step)", message: issue.message };
    }
    return { field: path.join(".") || "(plan)", message: issue.message };
  });
}

/**
 * One Ajv for the process; each tool's schema is compiled once (keyed by the schema object). Schemas
 * are not checked against the JSON Schema meta-schema first (compiling that is most of the first
 * compile's time): a schema Ajv cannot compile is skipped below either way. Its optimizing pass over
 * the generated code is off: a validator here runs a few times per plan, and the pass made each
 * compile about 1.5-2x slower (every `plan` and `run` compiles one per tool its steps call).
 */
const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, code: { optimize: false } });
const compiled = new WeakMap<object, ValidateFunction | null>();

/** Checks step params against a tool's JSON input schema, ignoring fields that hold references. */
function checkParams(info: ToolInfo, step: string, params: Record<string, unknown>, field: string): Problem[] {
  let validate = compiled.get(info.inputSchema);
  if (validate === undefined) {
    try {
      validate = ajv.compile(info.inputSchema);
    } catch {
      validate = null;
    }
    compiled.set(info.inputSchema, validate);
  }
  if (!validate || validate(params)) return [];
  const refFields = findReferences(params, "").map((r) => r.field);
  return (validate.errors ?? [])
    .filter((e) => !holdsReference(e, refFields))
    .map((e) => ({ step, field: fieldOf(field, e), message: messageOf(e) }));
}

function holdsReference(error: ErrorObject, refFields: string[]): boolean {
  if (error.keyword === "required" || error.keyword === "additionalProperties") return false;
  const at = error.instancePath.split("/").slice(1).map((p) => `.${p}`).join("");
  return refFields.some((f) => f === at || f.startsWith(`${at}.`) || f.startsWith(`${at}[`));
}

function fieldOf(base: string, error: ErrorObject): string {
  const parts = error.instancePath.split("/").slice(1);
  if (error.keyword === "additionalProperties") parts.push(String(error.params["additionalProperty"]));
  return [base, ...parts].join(".");
}

function messageOf(error: ErrorObject): string {
  if (error.keyword === "required") return `missing required field "${String(error.params["missingProperty"])}"`;
  if (error.keyword === "additionalProperties") return "unknown field";
  if (error.keyword === "enum") return `${error.message} (${(error.params["allowedValues"] as unknown[]).join(", ")})`;
  return error.message ?? "invalid value";
}

/**
 * The part of a prepared plan still to run when `done` steps have finished (a run going on after a
 * replan): what the forecast, the preflight and the approval are about. Edges to finished steps are
 * dropped; the executor still gets the whole plan, so references to finished outputs resolve.
 */
export function pendingPart(prepared: PreparedPlan, done: ReadonlySet<string>): PreparedPlan {
  const keep = <T>(record: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(record).filter(([id]) => !done.has(id)));
  return {
    ...prepared,
    plan: { ...prepared.plan, steps: prepared.plan.steps.filter((s) => !done.has(s.id)) },
    order: prepared.order.filter((id) => !done.has(id)),
    deps: Object.fromEntries(Object.entries(keep(prepared.deps)).map(([id, deps]) => [id, deps.filter((d) => !done.has(d))])),
    tools: keep(prepared.tools),
    rollbackTools: keep(prepared.rollbackTools),
    needsApproval: prepared.needsApproval.filter((entry) => !done.has(entry.replace(/ \(rollback\)$/, ""))),
  };
}

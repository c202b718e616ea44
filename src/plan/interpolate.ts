/**
 * `${stepId}` reads a finished step's whole output, `${stepId.text}` its text (see
 * src/mcp/output.ts for how a tool result becomes an output), and
 * `${stepId.path.to.field}` reads a finished step's output; `${name}` reads a plan parameter.
 * A string that is exactly one reference keeps the referenced JSON type. Substituted values
 * are never scanned again.
 */
import { TEXT_FIELD } from "../mcp/output.ts";

const REF = /\$\{([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z0-9_-]+)*)\}/g;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z0-9_-]+)*)\}$/;

export interface Reference {
  /** Step id or plan parameter name. */
  root: string;
  /** Field path inside a step's output. */
  path: string[];
  /** Where the reference sits, e.g. `params.arguments.project_id`. */
  field: string;
  /** The reference as written, e.g. `${create_db.connection_string}`. */
  text: string;
  /** The string is exactly this reference, so the value keeps its JSON type. */
  whole: boolean;
}

export interface Scope {
  steps: Record<string, unknown>;
  params: Record<string, unknown>;
}

export class InterpolationError extends Error {
  readonly code = "INTERPOLATION_FAILED";
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = "InterpolationError";
  }
}

export function isInterpolationError(error: unknown): error is InterpolationError {
  return error instanceof InterpolationError;
}

/** Every `${…}` reference inside a JSON-like value, with the field it sits in. */
export function findReferences(value: unknown, field = "params"): Reference[] {
  const found: Reference[] = [];
  walk(value, field, (text, at) => {
    const whole = WHOLE.test(text);
    for (const match of text.matchAll(REF)) {
      found.push({ root: match[1]!, path: splitPath(match[2]!), field: at, text: match[0], whole });
    }
  });
  return found;
}

/** Replaces references with values from `scope`; throws InterpolationError naming the field. */
export function interpolate<T>(value: T, scope: Scope, field = "params"): T {
  return substitute(value, scope, field) as T;
}

function substitute(value: unknown, scope: Scope, field: string): unknown {
  if (typeof value === "string") return substituteString(value, scope, field);
  if (Array.isArray(value)) return value.map((item, i) => substitute(item, scope, `${field}[${i}]`));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substitute(item, scope, `${field}.${key}`);
    return out;
  }
  return value;
}

function substituteString(text: string, scope: Scope, field: string): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return lookup(whole[1]!, splitPath(whole[2]!), scope, field, text);
  // One pass over the original text: replaced values are never scanned again.
  return text.replace(REF, (ref, root: string, path: string) => {
    const resolved = lookup(root, splitPath(path), scope, field, ref);
    return typeof resolved === "string" ? resolved : JSON.stringify(resolved);
  });
}

function lookup(root: string, path: string[], scope: Scope, field: string, ref: string): unknown {
  let current: unknown;
  if (Object.hasOwn(scope.steps, root)) current = scope.steps[root];
  else if (Object.hasOwn(scope.params, root) && path.length === 0) return scope.params[root];
  else throw new InterpolationError(`${field}: ${ref} names no finished step or plan parameter`, field);
  for (const [i, key] of path.entries()) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)];
    else if (isRecord(current) && Object.hasOwn(current, key)) current = current[key];
    else if (i === 0 && key === TEXT_FIELD) current = textView(current);
    else {
      const at = [root, ...path.slice(0, i + 1)].join(".");
      throw new InterpolationError(`${field}: ${ref} — the output of step "${root}" has no field "${at}" (${describeShape(root, path.slice(0, i), current)})`, field);
    }
  }
  if (current === undefined) throw new InterpolationError(`${field}: ${ref} resolved to nothing`, field);
  return current;
}

/** `${step.text}` of an output without its own `text` field: text as is, anything else as compact JSON. */
function textView(output: unknown): string {
  return typeof output === "string" ? output : JSON.stringify(output) ?? "";
}

/** What is there instead, so that a wrong reference can be fixed from the message alone. */
function describeShape(root: string, path: string[], value: unknown): string {
  const at = [root, ...path].join(".");
  if (typeof value === "string") {
    return path.length === 0 ? `the output is text, not JSON: read it as \${${root}.text} or \${${root}}` : `${at} is text`;
  }
  if (Array.isArray(value)) return `${at} is a list of ${value.length}: use an index, e.g. ${at}.0`;
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return keys.length > 0 ? `fields there: ${keys.join(", ")}` : `${at} is an empty object`;
  }
  return `${at} is ${value === null ? "null" : typeof value}`;
}

function walk(value: unknown, field: string, visit: (text: string, field: string) => void): void {
  if (typeof value === "string") visit(value, field);
  else if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${field}[${i}]`, visit));
  else if (isRecord(value)) for (const [key, item] of Object.entries(value)) walk(item, `${field}.${key}`, visit);
}

function splitPath(path: string): string[] {
  return path === "" ? [] : path.slice(1).split(".");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

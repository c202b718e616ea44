import { ATTACHMENTS_FIELD, TEXT_FIELD } from "../mcp/output.ts";

/**
 * Checks a `${step.path}` against the JSON Schema a tool declares for its `structuredContent`.
 * Declared properties are taken as the whole set a plan can rely on: a schema that lists
 * `content` and does not say `additionalProperties: true` (or give it a schema) makes
 * `${read.contents}` a typo, found before the run instead of after earlier steps created things.
 */
export type PathCheck =
  | { kind: "ok"; schema: Record<string, unknown> }
  /** The schema is open at `at` (no properties, or extra properties allowed): checked at run time. */
  | { kind: "open"; at: string }
  | { kind: "missing"; at: string; fields: string[] }
  | { kind: "not-object"; at: string; type: string };

type Schema = Record<string, unknown>;

/** `virtual`: the engine's own `text`/`attachments` fields of a step output count (not for input schemas). */
export function checkOutputPath(root: Schema, path: readonly string[], virtual = true): PathCheck {
  let current: Schema[] = [root];
  for (const [i, key] of path.entries()) {
    const at = path.slice(0, i + 1).join(".");
    const here = current.flatMap((s) => branches(s, root));
    // The engine adds `text` (and `attachments`) next to structured content; see src/mcp/output.ts.
    if (virtual && i === 0 && key === TEXT_FIELD && !here.some((s) => hasProperty(s, key))) return { kind: "ok", schema: { type: "string" } };
    if (virtual && i === 0 && key === ATTACHMENTS_FIELD && !here.some((s) => hasProperty(s, key))) return { kind: "open", at };
    const next: Schema[] = [];
    let open = false;
    for (const s of here) {
      const props = asSchema(s["properties"]);
      if (/^\d+$/.test(key) && (s["items"] !== undefined || s["prefixItems"] !== undefined)) {
        const prefix = Array.isArray(s["prefixItems"]) ? (s["prefixItems"][Number(key)] as unknown) : undefined;
        const item = asSchema(prefix) ?? asSchema(s["items"]);
        if (item) next.push(item);
        else open = true;
      } else if (props && Object.hasOwn(props, key)) {
        const prop = asSchema(props[key]);
        if (prop) next.push(prop);
        else open = true;
      } else if (isOpen(s)) open = true;
    }
    if (next.length === 0 && !open) {
      const fields = [...new Set(here.flatMap((s) => Object.keys(asSchema(s["properties"]) ?? {})))];
      const types = here.map(typeOf).filter((t): t is string => t !== undefined && t !== "object");
      if (fields.length === 0 && types.length > 0) return { kind: "not-object", at: path.slice(0, i).join("."), type: types[0]! };
      return { kind: "missing", at, fields };
    }
    if (next.length === 0) return { kind: "open", at };
    current = next;
  }
  return { kind: "ok", schema: current.length === 1 ? current[0]! : { anyOf: current } };
}

/** The JSON type a schema promises, when it promises exactly one. */
export function typeOf(schema: Schema): string | undefined {
  const type = schema["type"];
  if (typeof type === "string") return type;
  if (schema["properties"] !== undefined) return "object";
  if (schema["items"] !== undefined) return "array";
  return undefined;
}

/** `anyOf`/`oneOf`/`allOf` and local `$ref`s, flattened to the schemas a value may match. */
function branches(schema: Schema, root: Schema, depth = 0): Schema[] {
  if (depth > 16) return [schema];
  const ref = schema["$ref"];
  if (typeof ref === "string") {
    const target = resolveRef(ref, root);
    return target ? branches(target, root, depth + 1) : [{}];
  }
  const parts = ["anyOf", "oneOf", "allOf"].flatMap((k) => (Array.isArray(schema[k]) ? (schema[k] as unknown[]) : []));
  const subs = parts.map(asSchema).filter((s): s is Schema => s !== undefined);
  if (subs.length === 0) return [schema];
  const own = schema["properties"] !== undefined || schema["items"] !== undefined ? [schema] : [];
  return [...own, ...subs.flatMap((s) => branches(s, root, depth + 1))];
}

function resolveRef(ref: string, root: Schema): Schema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    node = asSchema(node)?.[key];
  }
  return asSchema(node);
}

/** A schema that does not list what it holds can hold any field. */
function isOpen(schema: Schema): boolean {
  const extra = schema["additionalProperties"];
  if (extra === true || asSchema(extra) !== undefined || schema["patternProperties"] !== undefined) return true;
  const type = typeOf(schema);
  return schema["properties"] === undefined && (type === undefined || type === "object");
}

function hasProperty(schema: Schema, key: string): boolean {
  const props = asSchema(schema["properties"]);
  return props !== undefined && Object.hasOwn(props, key);
}

function asSchema(value: unknown): Schema | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Schema) : undefined;
}

import type { RecordedRequest } from "../fixtures/fakes/http-fake.ts";

/*
 * Contract checks: the requests the cloud clients send, and the answers the fakes give them, held
 * to the providers' published OpenAPI descriptions. A contract is the handful of operations the
 * toolkit uses, each with its schemas resolved (refs inlined, allOf merged) into plain JSON Schema.
 */

/** The subset of JSON Schema the contracts keep. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  nullable?: boolean;
  /** false or absent with `properties`: fields outside them are reported; true: anything goes. */
  additionalProperties?: boolean | Schema;
  /** Any of these (oneOf/anyOf in the spec). */
  anyOf?: Schema[];
  /** Not in the description, but returned in practice (see the contract's `source.note`); unverified. */
  practice?: boolean;
}

export interface ContractOperation {
  method: string;
  /** Path template as in the spec, e.g. /projects/{project_id}/branches. */
  path: string;
  operationId?: string;
  query?: { properties: Record<string, Schema>; required: string[] };
  body?: Schema;
  /** Success statuses and the schema of their JSON bodies (absent when the spec gives none). */
  responses: Record<string, Schema | null>;
}

export interface Contract {
  provider: string;
  source: { spec: string; version: string; from: string; note?: string };
  operations: ContractOperation[];
}

// ---------------------------------------------------------------------------------------------
// Extraction from an OpenAPI 3 (or Swagger 2) document

type Json = Record<string, unknown>;

/** Resolves a schema into the contract subset: refs inlined, allOf merged, depth-limited. */
export function resolveSchema(doc: Json, schema: unknown, depth = 0, seen: string[] = []): Schema {
  if (!schema || typeof schema !== "object") return {};
  let s = schema as Json;
  const ref = s.$ref;
  if (typeof ref === "string") {
    // A recursive schema or one nested too deep is left open: it then accepts anything.
    if (seen.includes(ref) || depth > 6) return {};
    s = pointer(doc, ref);
    return resolveSchema(doc, s, depth, [...seen, ref]);
  }
  if (Array.isArray(s.allOf)) {
    const parts = s.allOf.map((part) => resolveSchema(doc, part, depth, seen));
    const merged: Schema = { type: "object", properties: {}, required: [] };
    let open = false;
    for (const part of parts) {
      Object.assign(merged.properties as Record<string, Schema>, part.properties ?? {});
      merged.required = [...(merged.required ?? []), ...(part.required ?? [])];
      if (part.additionalProperties === true || (part.properties === undefined && part.anyOf === undefined)) open = true;
      if (part.type && part.type !== "object") merged.type = part.type;
    }
    const own = resolveSchema(doc, { ...s, allOf: undefined }, depth, seen);
    Object.assign(merged.properties as Record<string, Schema>, own.properties ?? {});
    merged.required = [...new Set([...(merged.required ?? []), ...(own.required ?? [])])];
    if (open) merged.additionalProperties = true;
    return merged;
  }
  const variants = (Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : undefined) as unknown[] | undefined;
  if (variants) return { anyOf: variants.map((v) => resolveSchema(doc, v, depth + 1, seen)), ...(s.nullable === true ? { nullable: true } : {}) };
  const out: Schema = {};
  if (s.type !== undefined) out.type = s.type as string | string[];
  if (Array.isArray(s.enum)) out.enum = s.enum;
  if (s.nullable === true) out.nullable = true;
  if (s.properties && typeof s.properties === "object") {
    out.properties = {};
    for (const [name, prop] of Object.entries(s.properties as Json)) out.properties[name] = resolveSchema(doc, prop, depth + 1, seen);
    if (Array.isArray(s.required)) out.required = s.required as string[];
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) out.additionalProperties = true;
  } else if (s.type === "object" || s.additionalProperties !== undefined) {
    out.additionalProperties = true;
  }
  if (s.items !== undefined) out.items = resolveSchema(doc, s.items, depth + 1, seen);
  return out;
}

function pointer(doc: Json, ref: string): Json {
  let node: unknown = doc;
  for (const part of ref.replace(/^#\//, "").split("/")) {
    node = (node as Json)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node as Json;
}

/** The contract of the given operations, taken from an OpenAPI document. */
export function extractOperations(doc: Json, wanted: ReadonlyArray<{ method: string; path: string }>): ContractOperation[] {
  const paths = doc.paths as Record<string, Json>;
  return wanted.map(({ method, path }) => {
    const item = paths[path];
    const op = item?.[method.toLowerCase()] as Json | undefined;
    if (!item || !op) throw new Error(`contract: ${method} ${path} is not in the description`);
    const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])].map((p) => {
      const param = p as Json;
      return typeof param.$ref === "string" ? pointer(doc, param.$ref) : param;
    });
    const query: ContractOperation["query"] = { properties: {}, required: [] };
    for (const param of params.filter((p) => p.in === "query")) {
      query.properties[param.name as string] = resolveSchema(doc, param.schema ?? { type: param.type });
      if (param.required === true) query.required.push(param.name as string);
    }
    const content = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
    const bodySchema = content?.["application/json"]?.schema;
    const responses: Record<string, Schema | null> = {};
    for (const [status, response] of Object.entries((op.responses as Json) ?? {})) {
      if (!/^2\d\d$/.test(status)) continue;
      const r = (typeof (response as Json).$ref === "string" ? pointer(doc, (response as Json).$ref as string) : response) as Json;
      const schema = ((r.content as Record<string, Json> | undefined)?.["application/json"]?.schema ?? r.schema) as unknown;
      responses[status] = schema === undefined ? null : resolveSchema(doc, schema);
    }
    return {
      method: method.toUpperCase(),
      path,
      ...(typeof op.operationId === "string" ? { operationId: op.operationId } : {}),
      query,
      ...(bodySchema !== undefined ? { body: resolveSchema(doc, bodySchema) } : {}),
      responses,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Checks

/** The contract operation a request is for: same method, path matching the template. */
export function findOperation(contract: Contract, method: string, path: string): ContractOperation | undefined {
  return contract.operations.find((op) => op.method === method && templateRegex(op.path).test(path));
}

function templateRegex(template: string): RegExp {
  const literal = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${literal.join("[^/]+")}$`);
}

/** What is wrong with a request the client sent: unknown operation, missing or unknown or mistyped fields. */
export function checkRequest(contract: Contract, req: RecordedRequest): string[] {
  const where = `${req.method} ${req.path}`;
  const op = findOperation(contract, req.method, req.path);
  if (!op) return [`${where}: no such operation in ${contract.source.spec}`];
  const problems: string[] = [];
  const query = op.query ?? { properties: {}, required: [] };
  for (const name of query.required) if (!req.query.has(name)) problems.push(`${where}: query ${name} is required`);
  for (const [name, value] of req.query) {
    const schema = query.properties[name];
    if (!schema) problems.push(`${where}: query ${name} is not in the description`);
    else problems.push(...checkQueryValue(schema, value).map((p) => `${where}: query ${name}: ${p}`));
  }
  if (req.body !== undefined) {
    if (!op.body) problems.push(`${where}: the description takes no JSON body`);
    else problems.push(...checkValue(op.body, req.body, "body", true).map((p) => `${where}: ${p}`));
  } else if (op.body && (op.body.required?.length ?? 0) > 0) {
    problems.push(`${where}: a JSON body is required`);
  }
  return problems;
}

/** What is wrong with a fake's answer: a success status or field the description does not give. */
export function checkResponse(contract: Contract, req: RecordedRequest): string[] {
  const reply = req.reply;
  if (!reply || reply.status < 200 || reply.status >= 300) return [];
  const op = findOperation(contract, req.method, req.path);
  if (!op) return [];
  const where = `${req.method} ${req.path} → ${reply.status}`;
  if (!(String(reply.status) in op.responses)) return [`${where}: status not in the description (${Object.keys(op.responses).join(", ")})`];
  const schema = op.responses[String(reply.status)];
  if (!schema || reply.body === undefined) return [];
  // Answers are checked for types and invented fields; fakes may leave out fields a client ignores.
  return checkValue(schema, reply.body, "response", false).map((p) => `${where}: ${p}`);
}

function checkQueryValue(schema: Schema, value: string): string[] {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === "integer" && !/^-?\d+$/.test(value)) return [`expected an integer, got "${value}"`];
  if (type === "number" && !Number.isFinite(Number(value))) return [`expected a number, got "${value}"`];
  if (type === "boolean" && value !== "true" && value !== "false") return [`expected true or false, got "${value}"`];
  if (schema.enum && !schema.enum.map(String).includes(value)) return [`expected one of ${schema.enum.join(", ")}, got "${value}"`];
  return [];
}

/** Type, enum, unknown-field and (for requests) required-field problems of a value. */
export function checkValue(schema: Schema, value: unknown, path: string, enforceRequired: boolean): string[] {
  if (value === null) return schema.nullable || schema.type === "null" || (Array.isArray(schema.type) && schema.type.includes("null")) || schema.type === undefined ? [] : [`${path}: null is not allowed`];
  if (schema.anyOf) {
    const results = schema.anyOf.map((variant) => checkValue(variant, value, path, enforceRequired));
    return results.some((r) => r.length === 0) ? [] : (results.sort((a, b) => a.length - b.length)[0] ?? []);
  }
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((t) => hasType(t, value))) return [`${path}: expected ${types.join(" or ")}, got ${describe(value)}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`];
  const problems: string[] = [];
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => problems.push(...checkValue(schema.items as Schema, item, `${path}[${i}]`, enforceRequired)));
  }
  if (value && typeof value === "object" && !Array.isArray(value) && schema.properties) {
    const record = value as Record<string, unknown>;
    if (enforceRequired) for (const name of schema.required ?? []) if (!(name in record)) problems.push(`${path}.${name} is required`);
    for (const [name, field] of Object.entries(record)) {
      const prop = schema.properties[name];
      if (prop) problems.push(...checkValue(prop, field, `${path}.${name}`, enforceRequired));
      else if (schema.additionalProperties !== true) problems.push(`${path}.${name} is not in the description`);
    }
  }
  return problems;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return typeof value === type;
  }
}

function describe(value: unknown): string {
  return Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
}

/** Distinct operations (method + template) the recorded requests exercised. */
export function operationsExercised(contract: Contract, requests: readonly RecordedRequest[]): string[] {
  const seen = new Set<string>();
  for (const req of requests) {
    const op = findOperation(contract, req.method, req.path);
    if (op) seen.add(`${op.method} ${op.path}`);
  }
  return [...seen].sort();
}

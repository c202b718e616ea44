/**
 * The plan's JSON schema in the shape OpenAI's strict structured outputs accept, and the way back
 * from a strict reply to a plan.
 *
 * Strict mode wants every property in `required` (optional ones become nullable), `additionalProperties:
 * false` on every object, and no open records. A plan has open records — each step's `params`, a
 * rollback's `params`, the plan's `params` — whose keys are the tool's own, so they travel as
 * JSON-encoded strings: the provider still forces the plan's shape, and the validator checks the
 * decoded arguments against each tool's input schema as for any plan. Length, pattern and range
 * keywords are left out (older strict implementations reject them); the validator checks those.
 */

type Schema = Record<string, unknown>;

const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: "null" }] });

const object = (properties: Record<string, Schema>, description?: string): Schema => ({
  type: "object",
  ...(description ? { description } : {}),
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});

const ENCODED_ARGS = "The arguments as a JSON object, encoded as a string (\"{}\" for none).";

const STRICT_STEP: Schema = object({
  id: { type: "string", description: "Letters, digits, '_' or '-', unique in the plan." },
  agent: nullable({ type: "string" }),
  tool: { type: "string", description: "server.tool, from the list." },
  dependencies: { type: "array", items: { type: "string" } },
  params: { type: "string", description: `The tool's arguments. ${ENCODED_ARGS}` },
  retry: nullable(object({ maxAttempts: { type: "integer" }, backoffMs: nullable({ type: "integer" }) })),
  timeoutMs: nullable({ type: "integer" }),
  rollback: nullable(object({ tool: { type: "string" }, params: { type: "string", description: ENCODED_ARGS } }, "The call that undoes the step.")),
  estimate: nullable(object({ ms: nullable({ type: "number" }), usd: nullable({ type: "number" }) })),
});

/** The steps of a plan, strict: shared by the plan and the replan answer. */
export const STRICT_STEPS: Schema = { type: "array", items: STRICT_STEP };

/** The plan schema sent with `response_format: json_schema, strict: true`. */
export const STRICT_PLAN_SCHEMA: Schema = object({
  name: { type: "string" },
  description: nullable({ type: "string" }),
  params: nullable({ type: "string", description: `Plan parameters, name → default value. ${ENCODED_ARGS}` }),
  steps: STRICT_STEPS,
});

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A strict reply's step as a plan step: nulls dropped, encoded arguments decoded. What does not decode
 * is kept as it came, so the validator names the step and the field that is wrong.
 */
export function fromStrictStep(step: unknown): unknown {
  if (!isRecord(step)) return step;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(step)) {
    if (value === null) continue;
    if (key === "params") out[key] = decodeArgs(value);
    else if (key === "rollback" && isRecord(value)) out[key] = { ...value, params: decodeArgs(value["params"]) };
    else if ((key === "retry" || key === "estimate") && isRecord(value)) out[key] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
    else out[key] = value;
  }
  return out;
}

/** A strict reply (the plan, or any object with `steps`) as a plan: see `fromStrictStep`. */
export function fromStrictPlan(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue;
    if (key === "params") out[key] = decodeArgs(v);
    else if (key === "steps" && Array.isArray(v)) out[key] = v.map(fromStrictStep);
    else out[key] = v;
  }
  return out;
}

function decodeArgs(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (text === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return value;
  }
}

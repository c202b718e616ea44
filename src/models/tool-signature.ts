import { isDestructiveTool, type ToolInfo } from "../mcp/catalog.ts";

type Schema = Record<string, unknown>;

/** Longest parameter description kept: enough to say what a value is, not how the tool works. */
const PARAM_NOTE = 40;
const TOOL_NOTE = 80;

/**
 * A tool as one compact line for the model: `server.tool(a: string, b?: integer = 8080, c?: {[k]: string}) — what it does`.
 * About a fifth of the tokens of its JSON schema; patterns, limits and `$schema` are left out, since the
 * validator checks them and sends any miss back as a repair.
 */
export function toolSignature(tool: ToolInfo): string {
  const params = objectFields(tool.inputSchema, tool.name);
  const note = firstSentence(tool.description, TOOL_NOTE);
  return `${tool.server}.${tool.name}(${params})${isDestructiveTool(tool) ? " [destructive]" : ""}${note ? ` — ${note}` : ""}`;
}

/** `notesFor`: the tool's name, when parameter notes are shown; a note only its names already say is left out. */
function objectFields(schema: Schema, notesFor?: string): string {
  const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
  const required = new Set(Array.isArray(schema["required"]) ? (schema["required"] as string[]) : []);
  return Object.entries(properties)
    .map(([name, prop]) => {
      const fallback = prop["default"] !== undefined ? ` = ${JSON.stringify(prop["default"])}` : "";
      const text = notesFor !== undefined && typeof prop["description"] === "string" ? firstSentence(prop["description"], PARAM_NOTE) : "";
      const note = text && !saysOnly(text, `${notesFor} ${name}`) ? ` /* ${text} */` : "";
      return `${name}${required.has(name) ? "" : "?"}: ${typeText(prop)}${fallback}${note}`;
    })
    .join(", ");
}

function typeText(schema: Schema): string {
  if (Array.isArray(schema["enum"])) return (schema["enum"] as unknown[]).map((v) => JSON.stringify(v)).join(" | ");
  if (schema["const"] !== undefined) return JSON.stringify(schema["const"]);
  const variants = (schema["anyOf"] ?? schema["oneOf"]) as Schema[] | undefined;
  if (Array.isArray(variants)) return variants.map(typeText).join(" | ");
  const type = schema["type"];
  if (Array.isArray(type)) return type.join(" | ");
  if (type === "array") return `${schema["items"] ? typeText(schema["items"] as Schema) : "any"}[]`;
  if (type === "object" || schema["properties"]) {
    if (schema["properties"]) return `{ ${objectFields(schema)} }`;
    const values = schema["additionalProperties"];
    return `{[k]: ${typeof values === "object" && values !== null ? typeText(values as Schema) : "any"}}`;
  }
  return typeof type === "string" ? type : "any";
}

function firstSentence(text: string, max: number): string {
  const line = (text.split("\n")[0] ?? "").trim();
  // A sentence ends at ". " before a capital: "e.g. us-east-1" and "(default: x)" do not end it.
  const sentence = line.match(/^.*?\.(?=\s+[A-Z]|$)/)?.[0] ?? line;
  const cut = sentence.replace(/[.:]$/, "");
  return cut.length > max ? `${cut.slice(0, max - 1)}…` : cut;
}

/** "Project id" on `project_id`, "Fly app name" on fly_create_app's `app_name`: nothing the names do not say. */
function saysOnly(note: string, names: string): boolean {
  const known = new Set(names.toLowerCase().split(/[^a-z0-9]+/));
  return note.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w !== "" && w !== "the" && w !== "a").every((w) => known.has(w));
}

/** Keys that cost tokens and tell a model nothing: the dialect, key types of records, JavaScript's largest integer. */
export function compactSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(compactSchema);
  if (typeof schema !== "object" || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => key !== "$schema" && key !== "propertyNames" && !(key === "maximum" && value === Number.MAX_SAFE_INTEGER))
      .map(([key, value]) => [key, key === "properties" ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, compactSchema(v)])) : compactSchema(value)]),
  );
}

import { isDestructiveTool, type ToolInfo } from "../mcp/catalog.ts";

type Schema = Record<string, unknown>;

/** Longest parameter description kept: enough to say what a value is, not how the tool works. */
const PARAM_NOTE = 48;
const TOOL_NOTE = 100;

/**
 * A tool as one compact line for the model: `server.tool(a: string, b?: integer = 8080, c?: {[k]: string}) — what it does`.
 * About a fifth of the tokens of its JSON schema; patterns, limits and `$schema` are left out, since the
 * validator checks them and sends any miss back as a repair.
 */
export function toolSignature(tool: ToolInfo): string {
  const params = objectFields(tool.inputSchema, true);
  const note = firstSentence(tool.description, TOOL_NOTE);
  return `${tool.server}.${tool.name}(${params})${isDestructiveTool(tool) ? " [destructive]" : ""}${note ? ` — ${note}` : ""}`;
}

function objectFields(schema: Schema, notes: boolean): string {
  const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
  const required = new Set(Array.isArray(schema["required"]) ? (schema["required"] as string[]) : []);
  return Object.entries(properties)
    .map(([name, prop]) => {
      const fallback = prop["default"] !== undefined ? ` = ${JSON.stringify(prop["default"])}` : "";
      const note = notes && typeof prop["description"] === "string" ? ` /* ${firstSentence(prop["description"], PARAM_NOTE)} */` : "";
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
    if (schema["properties"]) return `{ ${objectFields(schema, false)} }`;
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

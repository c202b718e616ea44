/**
 * How an MCP tool result becomes a step's output: one JSON value that is checkpointed and that
 * later steps read with `${step…}`.
 *
 * - `structuredContent` present: the output is that object. A text part that is JSON is the
 *   serialized copy the MCP spec asks servers to send alongside, and is dropped; other text is
 *   kept as the field `text` unless the structured content has its own `text`.
 * - no structured content, and the text is a JSON object or array: the output is the parsed
 *   document, so `${step.field}` reads its fields like structured content.
 * - otherwise the output is the text itself (all text parts joined with a newline).
 * - images, audio and resources are never inlined: each becomes a reference with its type, MIME
 *   type, size in bytes and URI, listed under `attachments` (next to `text` when the result had
 *   no structured content or JSON). Base64 payloads would otherwise bloat every checkpoint.
 *
 * `${step.text}` always reads the text: the `text` field when the output has one, the output
 * itself when it is text, else the output as compact JSON (see interpolate.ts).
 */
export interface AttachmentRef {
  type: "image" | "audio" | "resource" | "resource_link";
  mimeType?: string;
  /** Bytes of the payload (decoded base64, or the UTF-8 text of an embedded resource). */
  size?: number;
  uri?: string;
  name?: string;
}

export const TEXT_FIELD = "text";
export const ATTACHMENTS_FIELD = "attachments";

export function outputOf(result: { structuredContent?: unknown; content?: unknown }): unknown {
  const parts = Array.isArray(result.content) ? (result.content as unknown[]) : [];
  const text = textOf(parts);
  const attachments = parts.map(attachmentOf).filter((a): a is AttachmentRef => a !== undefined);
  const structured = result.structuredContent;

  if (isObject(structured)) {
    const out: Record<string, unknown> = { ...structured };
    if (text !== "" && parseJsonDocument(text) === undefined && !Object.hasOwn(out, TEXT_FIELD)) out[TEXT_FIELD] = text;
    if (attachments.length > 0 && !Object.hasOwn(out, ATTACHMENTS_FIELD)) out[ATTACHMENTS_FIELD] = attachments;
    return out;
  }
  const json = parseJsonDocument(text);
  if (json !== undefined) {
    if (attachments.length === 0) return json;
    if (isObject(json) && !Object.hasOwn(json, ATTACHMENTS_FIELD)) return { ...json, [ATTACHMENTS_FIELD]: attachments };
  }
  if (attachments.length > 0) return { [TEXT_FIELD]: text, [ATTACHMENTS_FIELD]: attachments };
  return text;
}

/** All text parts joined with a newline; "" when there are none. */
export function textOf(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return content
    .filter((c): c is { type: "text"; text: string } => isObject(c) && c["type"] === "text" && typeof c["text"] === "string")
    .map((c) => c.text)
    .join("\n");
}

/** A JSON object or array; scalars ("5", "true") stay text, since a tool that says "5" means text. */
function parseJsonDocument(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function attachmentOf(part: unknown): AttachmentRef | undefined {
  if (!isObject(part)) return undefined;
  const type = part["type"];
  if (type === "image" || type === "audio") {
    return compact({ type, mimeType: str(part["mimeType"]), size: base64Bytes(part["data"]) });
  }
  if (type === "resource_link") {
    return compact({ type, mimeType: str(part["mimeType"]), size: num(part["size"]), uri: str(part["uri"]), name: str(part["name"]) });
  }
  if (type === "resource" && isObject(part["resource"])) {
    const r = part["resource"];
    const size = typeof r["text"] === "string" ? Buffer.byteLength(r["text"], "utf8") : base64Bytes(r["blob"]);
    return compact({ type, mimeType: str(r["mimeType"]), size, uri: str(r["uri"]) });
  }
  return undefined;
}

function base64Bytes(data: unknown): number | undefined {
  if (typeof data !== "string") return undefined;
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

function compact(ref: AttachmentRef): AttachmentRef {
  return Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)) as unknown as AttachmentRef;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

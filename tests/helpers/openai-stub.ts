import http from "node:http";
import type { AddressInfo } from "node:net";
import { Tiktoken } from "js-tiktoken/lite";
import o200k from "js-tiktoken/ranks/o200k_base";

/** Token counts reported for a reply (OpenAI `usage`). */
export interface StubUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** One scripted reply of the stand-in. */
export type StubReply =
  /** An assistant message with text content (JSON text for structured output). */
  | { content: string; usage?: StubUsage }
  /** An assistant message calling tools; `arguments` is JSON-encoded unless it is a string. */
  | { toolCalls: { name: string; arguments: unknown; id?: string }[]; content?: string; usage?: StubUsage }
  /** An HTTP error with an OpenAI-style error body. */
  | { status: number; message?: string };

/** A request the stand-in received. */
export interface StubRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (model, messages, tools, response_format, stream, …). */
  body: Record<string, unknown>;
}

/** A reply, or a function choosing one from the request and its 0-based call number. */
export type StubResponse = StubReply | ((request: StubRequest, call: number) => StubReply);

export interface OpenAIStub {
  /** Base URL for OpenAI clients, ending in `/v1` (ChatOpenAI `configuration.baseURL`). */
  baseUrl: string;
  /** Every chat completion request, in arrival order. */
  requests: StubRequest[];
  /** SSE chunks written so far, over all streamed replies (a test compares it with what the client has seen). */
  readonly chunksSent: number;
  close(): Promise<void>;
}

export const DEFAULT_USAGE: StubUsage = { prompt_tokens: 12, completion_tokens: 8 };

export interface StubOptions {
  /**
   * Streamed replies go out one o200k token per chunk at this rate (tokens per second), like a model
   * server writing; without it a streamed reply is sent at once.
   */
  tokensPerSecond?: number;
  /**
   * Replies without scripted usage report o200k token counts: prompt tokens of the request's messages,
   * tools and response format (as JSON text; real servers add a few per message), completion tokens of the reply.
   */
  countTokens?: boolean;
  /**
   * Awaited before a streamed reply's last chunk: a test holds the end of the stream open with it.
   * `aborted()` says whether the client has closed the connection (a stopped model call); `call` is the request's number.
   */
  holdEnd?: (stream: { aborted(): boolean; call: number }) => Promise<void>;
}

let encoder: Tiktoken | undefined;
/** o200k_base (GPT-4o's encoding), bundled with js-tiktoken: no download. */
export function countTokens(text: string): number {
  encoder ??= new Tiktoken(o200k);
  return encoder.encode(text).length;
}

/** Prompt tokens of a chat completion request: each message's content, the tools and the response format. */
export function promptTokensOf(body: Record<string, unknown>): number {
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as Record<string, unknown>[]) : [];
  const texts = messages.map((m) => (typeof m["content"] === "string" ? m["content"] : JSON.stringify(m["content"] ?? m["tool_calls"] ?? "")));
  for (const extra of ["tools", "response_format"]) if (body[extra] !== undefined) texts.push(JSON.stringify(body[extra]));
  return texts.reduce((sum, text) => sum + countTokens(text), 0);
}

/**
 * A local OpenAI-compatible chat endpoint (`POST /v1/chat/completions`) on a free port.
 * `responses` are used one per call, in order (a function answers every call); a call with no
 * scripted reply gets a 500. With `stream: true` it answers with SSE chunks and a final usage chunk.
 */
export async function startOpenAIStub(
  responses: StubResponse[] | ((request: StubRequest, call: number) => StubReply),
  options: StubOptions = {},
): Promise<OpenAIStub> {
  // Loading the encoding takes seconds on a busy machine: do it before the first request is timed.
  if (options.tokensPerSecond || options.countTokens) countTokens("");
  const requests: StubRequest[] = [];
  const counter = { chunks: 0 };
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error), type: "server_error" } }));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      sendJson(res, 404, { error: { message: `no route ${req.method ?? ""} ${path}`, type: "invalid_request_error" } });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: StubRequest = {
      method: req.method,
      path,
      headers: req.headers,
      body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
    };
    const call = requests.length;
    requests.push(request);
    const refused = strictRefusal(request.body);
    if (refused) {
      sendJson(res, 400, { error: { message: refused, type: "invalid_request_error", param: "response_format", code: null } });
      return;
    }
    const scripted = typeof responses === "function" ? responses : responses[call];
    if (scripted === undefined) {
      sendJson(res, 500, { error: { message: `no scripted response for call ${call}`, type: "server_error" } });
      return;
    }
    const scriptedReply = typeof scripted === "function" ? scripted(request, call) : scripted;
    const reply = options.countTokens && !("status" in scriptedReply) && !scriptedReply.usage
      ? { ...scriptedReply, usage: { prompt_tokens: promptTokensOf(request.body), completion_tokens: countTokens(replyText(scriptedReply)) } }
      : scriptedReply;
    if ("status" in reply) {
      sendJson(res, reply.status, { error: { message: reply.message ?? `status ${reply.status}`, type: "stub_error" } });
      return;
    }
    const model = typeof request.body.model === "string" ? request.body.model : "stub-model";
    const id = `chatcmpl-stub-${call}`;
    if (request.body.stream === true) await streamReply(res, reply, model, id, options, counter, call);
    else sendJson(res, 200, completion(reply, model, id));
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get chunksSent() {
      return counter.chunks;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type MessageReply = Exclude<StubReply, { status: number }>;

function toolCalls(reply: MessageReply): { id: string; type: "function"; function: { name: string; arguments: string } }[] | undefined {
  if (!("toolCalls" in reply)) return undefined;
  return reply.toolCalls.map((call, index) => ({
    id: call.id ?? `call_${index}`,
    type: "function",
    function: { name: call.name, arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments) },
  }));
}

function usageOf(reply: MessageReply): StubUsage & { total_tokens: number } {
  const usage = reply.usage ?? DEFAULT_USAGE;
  return { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
}

function completion(reply: MessageReply, model: string, id: string): Record<string, unknown> {
  const calls = toolCalls(reply);
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: reply.content ?? null, ...(calls ? { tool_calls: calls } : {}) },
        finish_reason: calls ? "tool_calls" : "stop",
        logprobs: null,
      },
    ],
    usage: usageOf(reply),
  };
}

function replyText(reply: MessageReply): string {
  return (reply.content ?? "") + (toolCalls(reply) ?? []).map((c) => c.function.arguments).join("");
}

/** Text cut where o200k cuts it: one piece per token (how a paced stream sends it; the bench's bound reads it too). */
export function tokenPieces(text: string): string[] {
  encoder ??= new Tiktoken(o200k);
  const pieces = encoder.encode(text).map((token) => encoder!.decode([token]));
  // A multi-byte character split across tokens decodes oddly: send the rest as it is.
  if (pieces.join("") !== text) return [text];
  return pieces;
}

async function streamReply(res: http.ServerResponse, reply: MessageReply, model: string, id: string, options: StubOptions, counter: { chunks: number }, call: number): Promise<void> {
  const tokensPerSecond = options.tokensPerSecond;
  let aborted = false;
  res.on("close", () => {
    if (!res.writableEnded) aborted = true;
  });
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const created = Math.floor(Date.now() / 1000);
  const calls = toolCalls(reply);
  const content = reply.content ?? "";
  const contentPieces = tokensPerSecond ? tokenPieces(content) : content.match(/[\s\S]{1,16}/g) ?? [];
  const callPieces = (calls ?? []).map((call) => (tokensPerSecond ? tokenPieces(call.function.arguments) : [call.function.arguments]));
  // Cut before the clock starts: loading the encoding the first time takes a while.
  const started = Date.now();
  let sent = 0;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
    res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`);
    counter.chunks++;
  };
  // Paced against the start, so timer lateness does not add up over a long reply.
  const pace = async (): Promise<void> => {
    sent++;
    if (!tokensPerSecond) return;
    const due = started + (sent * 1000) / tokensPerSecond - Date.now();
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
  };
  chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  for (const piece of contentPieces) {
    await pace();
    chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  }
  for (const [index, call] of (calls ?? []).entries()) {
    chunk([{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, finish_reason: null }]);
    for (const piece of callPieces[index] ?? []) {
      await pace();
      chunk([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] }, finish_reason: null }]);
    }
  }
  await options.holdEnd?.({ aborted: () => aborted, call });
  if (aborted) return;
  chunk([{ index: 0, delta: {}, finish_reason: calls ? "tool_calls" : "stop" }]);
  chunk([], { usage: usageOf(reply) });
  res.end("data: [DONE]\n\n");
}

/** Keywords strict structured outputs refuse (OpenAI's list of unsupported keywords). */
const UNSUPPORTED_KEYWORDS = [
  "minLength", "maxLength", "pattern", "format",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "patternProperties", "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties",
  "unevaluatedItems", "contains", "minContains", "maxContains", "minItems", "maxItems", "uniqueItems",
];

/**
 * Why OpenAI would refuse a schema under `strict: true`, one line per problem, or [] when it would take
 * it: every object closed (`additionalProperties: false`) with all its properties required, no open
 * records, no unsupported keywords, an object at the root. Written from the API's rules, not from our schema.
 */
export function strictSchemaProblems(schema: unknown, path = "root"): string[] {
  if (typeof schema !== "object" || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap((s, i) => strictSchemaProblems(s, `${path}[${i}]`));
  const s = schema as Record<string, unknown>;
  const problems: string[] = [];
  if (path === "root" && s["type"] !== "object") problems.push("root: the schema must be an object, not anyOf or another type");
  for (const key of UNSUPPORTED_KEYWORDS) if (key in s) problems.push(`${path}: '${key}' is not permitted`);
  const isObject = s["type"] === "object" || (Array.isArray(s["type"]) && s["type"].includes("object")) || "properties" in s;
  if (isObject) {
    if (s["additionalProperties"] !== false) problems.push(`${path}: 'additionalProperties' is required to be supplied and to be false`);
    const properties = (s["properties"] ?? {}) as Record<string, unknown>;
    const required = Array.isArray(s["required"]) ? (s["required"] as string[]) : [];
    const missing = Object.keys(properties).filter((k) => !required.includes(k));
    if (missing.length > 0) problems.push(`${path}: 'required' is required to be supplied and to be an array including every key in properties. Missing ${missing.map((k) => `'${k}'`).join(", ")}`);
    for (const [key, value] of Object.entries(properties)) problems.push(...strictSchemaProblems(value, `${path}.${key}`));
  }
  for (const key of ["items", "anyOf", "$defs", "definitions"]) {
    const value = s[key];
    if (value === undefined) continue;
    if (key === "$defs" || key === "definitions") for (const [k, v] of Object.entries(value as Record<string, unknown>)) problems.push(...strictSchemaProblems(v, `${path}.${key}.${k}`));
    else problems.push(...strictSchemaProblems(value, `${path}.${key}`));
  }
  if (s["oneOf"] !== undefined || s["allOf"] !== undefined) problems.push(`${path}: 'oneOf' and 'allOf' are not permitted`);
  return problems;
}

/** The 400 a real server sends when `strict: true` comes with a schema strict mode does not support. */
function strictRefusal(body: Record<string, unknown>): string | undefined {
  const format = body["response_format"] as { type?: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } } | undefined;
  if (format?.type === "json_schema" && format.json_schema?.strict === true) {
    const problems = strictSchemaProblems(format.json_schema.schema);
    if (problems.length > 0) return `Invalid schema for response_format '${format.json_schema.name ?? ""}': ${problems.join("; ")}`;
  }
  const tools = Array.isArray(body["tools"]) ? (body["tools"] as { function?: { name?: string; parameters?: unknown; strict?: boolean } }[]) : [];
  for (const tool of tools) {
    if (tool.function?.strict !== true) continue;
    const problems = strictSchemaProblems(tool.function.parameters);
    if (problems.length > 0) return `Invalid schema for function '${tool.function.name ?? ""}': ${problems.join("; ")}`;
  }
  return undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

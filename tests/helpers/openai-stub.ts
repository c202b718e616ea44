import http from "node:http";
import type { AddressInfo } from "node:net";

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
  close(): Promise<void>;
}

export const DEFAULT_USAGE: StubUsage = { prompt_tokens: 12, completion_tokens: 8 };

/**
 * A local OpenAI-compatible chat endpoint (`POST /v1/chat/completions`) on a free port.
 * `responses` are used one per call, in order (a function answers every call); a call with no
 * scripted reply gets a 500. With `stream: true` it answers with SSE chunks and a final usage chunk.
 */
export async function startOpenAIStub(responses: StubResponse[] | ((request: StubRequest, call: number) => StubReply)): Promise<OpenAIStub> {
  const requests: StubRequest[] = [];
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
    const scripted = typeof responses === "function" ? responses : responses[call];
    if (scripted === undefined) {
      sendJson(res, 500, { error: { message: `no scripted response for call ${call}`, type: "server_error" } });
      return;
    }
    const reply = typeof scripted === "function" ? scripted(request, call) : scripted;
    if ("status" in reply) {
      sendJson(res, reply.status, { error: { message: reply.message ?? `status ${reply.status}`, type: "stub_error" } });
      return;
    }
    const model = typeof request.body.model === "string" ? request.body.model : "stub-model";
    const id = `chatcmpl-stub-${call}`;
    if (request.body.stream === true) streamReply(res, reply, model, id);
    else sendJson(res, 200, completion(reply, model, id));
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
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

function streamReply(res: http.ServerResponse, reply: MessageReply, model: string, id: string): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
    res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices, ...extra })}\n\n`);
  };
  chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  const content = reply.content ?? "";
  for (let start = 0; start < content.length; start += 16) {
    chunk([{ index: 0, delta: { content: content.slice(start, start + 16) }, finish_reason: null }]);
  }
  const calls = toolCalls(reply);
  calls?.forEach((call, index) => {
    chunk([{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, finish_reason: null }]);
    chunk([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: call.function.arguments } }] }, finish_reason: null }]);
  });
  chunk([{ index: 0, delta: {}, finish_reason: calls ? "tool_calls" : "stop" }]);
  chunk([], { usage: usageOf(reply) });
  res.end("data: [DONE]\n\n");
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

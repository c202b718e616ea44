import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { classifyCallError, classifyToolError, isTransientText, stripMcpPrefix } from "../../src/mcp/call-errors.ts";
import { isDestructiveTool } from "../../src/mcp/catalog.ts";
import { outputOf } from "../../src/mcp/output.ts";
import { interpolate, isInterpolationError } from "../../src/plan/interpolate.ts";

const text = (t: string) => ({ type: "text", text: t });
const PNG_B64 = Buffer.alloc(1234, 7).toString("base64");

describe("a tool result becomes one step output", () => {
  it("structured content is the output; its JSON copy in text is dropped", () => {
    const value = { id: "p1", port: 5432 };
    expect(outputOf({ structuredContent: value, content: [text(JSON.stringify(value))] })).toEqual(value);
  });

  it("structured content keeps other text as `text`, unless it has a `text` field of its own", () => {
    expect(outputOf({ structuredContent: { content: "hello" }, content: [text("hello")] })).toEqual({ content: "hello", text: "hello" });
    expect(outputOf({ structuredContent: { text: "mine" }, content: [text("theirs")] })).toEqual({ text: "mine" });
  });

  it("text that is a JSON object or array is parsed; scalars and prose stay text", () => {
    expect(outputOf({ content: [text('{"entities":[{"name":"x"}]}')] })).toEqual({ entities: [{ name: "x" }] });
    expect(outputOf({ content: [text("[1,2]")] })).toEqual([1, 2]);
    expect(outputOf({ content: [text("5")] })).toBe("5");
    expect(outputOf({ content: [text("The sum of 2 and 3 is 5.")] })).toBe("The sum of 2 and 3 is 5.");
    expect(outputOf({ content: [text("{not json")] })).toBe("{not json");
  });

  it("text parts are joined with a newline", () => {
    expect(outputOf({ content: [text("one"), text("two")] })).toBe("one\ntwo");
  });

  it("images, audio and resources become references with type, MIME type and size; nothing is inlined", () => {
    const out = outputOf({
      content: [
        text("Here is the image"),
        { type: "image", data: PNG_B64, mimeType: "image/png" },
        { type: "audio", data: Buffer.alloc(10).toString("base64"), mimeType: "audio/wav" },
        { type: "resource", resource: { uri: "demo://r/1", mimeType: "text/plain", text: "héllo" } },
        { type: "resource_link", uri: "demo://r/2", name: "Two", mimeType: "application/octet-stream" },
      ],
    });
    expect(out).toEqual({
      text: "Here is the image",
      attachments: [
        { type: "image", mimeType: "image/png", size: 1234 },
        { type: "audio", mimeType: "audio/wav", size: 10 },
        { type: "resource", mimeType: "text/plain", size: 6, uri: "demo://r/1" },
        { type: "resource_link", mimeType: "application/octet-stream", uri: "demo://r/2", name: "Two" },
      ],
    });
    expect(JSON.stringify(out)).not.toContain(PNG_B64.slice(0, 40));
  });

  it("attachments sit next to structured fields", () => {
    expect(outputOf({ structuredContent: { n: 1 }, content: [{ type: "image", data: "AAAA", mimeType: "image/gif" }] })).toEqual({
      n: 1,
      attachments: [{ type: "image", mimeType: "image/gif", size: 3 }],
    });
  });
});

describe("every reference form reads an output", () => {
  const scope = {
    steps: {
      sum: "The sum of 2 and 3 is 5.",
      read: { content: "hello", text: "hello" },
      graph: { entities: [{ name: "x" }] },
    },
    params: {},
  };

  it("${step.text}: the text; of a JSON output, its compact JSON", () => {
    expect(interpolate({ a: "${sum.text}", b: "${read.text}", c: "${graph.text}" }, scope)).toEqual({
      a: "The sum of 2 and 3 is 5.",
      b: "hello",
      c: '{"entities":[{"name":"x"}]}',
    });
  });

  it("${step} is the whole output, keeping its type; ${step.field} and list indexes read JSON", () => {
    expect(interpolate({ a: "${sum}", b: "${graph}", c: "${graph.entities.0.name}", d: "got ${graph}" }, scope)).toEqual({
      a: "The sum of 2 and 3 is 5.",
      b: { entities: [{ name: "x" }] },
      c: "x",
      d: 'got {"entities":[{"name":"x"}]}',
    });
  });

  it("a field of a text output says to read it as text", () => {
    try {
      interpolate({ a: "${sum.content}" }, scope);
      expect.unreachable();
    } catch (error) {
      expect(isInterpolationError(error)).toBe(true);
      expect((error as Error).message).toBe(
        'params.a: ${sum.content} — the output of step "sum" has no field "sum.content" (the output is text, not JSON: read it as ${sum.text} or ${sum})',
      );
    }
  });

  it("a missing field lists the fields there are", () => {
    expect(() => interpolate({ a: "${read.contents}" }, scope)).toThrow('has no field "read.contents" (fields there: content, text)');
    expect(() => interpolate({ a: "${graph.entities.name}" }, scope)).toThrow("graph.entities is a list of 1: use an index, e.g. graph.entities.0");
  });
});

describe("JSON-RPC errors: retryable or not, reconnect or not, said once", () => {
  const classify = (error: unknown, aborted = false) => {
    const { error: e, reconnect } = classifyCallError(error, "srv", "tool", aborted);
    return { code: e.code, retryable: e.retryable, reconnect, message: e.message };
  };

  it.each([
    [-32700, "PROTOCOL", false],
    [-32600, "PROTOCOL", false],
    [-32601, "PROTOCOL", false],
    [-32602, "INVALID_ARGUMENTS", false],
    [-32603, "SERVER_ERROR", true],
    [-32001, "TIMEOUT", true],
    [-32002, "PROTOCOL", false],
    [-32042, "PROTOCOL", false],
    [-32050, "PROTOCOL", false],
    [-1, "PROTOCOL", false],
  ])("%i → %s, retryable %s, the connection kept", (code, kind, retryable) => {
    const result = classify(new McpError(code, "boom"));
    expect(result).toMatchObject({ code: kind, retryable, reconnect: false });
  });

  it("a closed connection is retried on a fresh connection", () => {
    expect(classify(new McpError(-32000, "Connection closed"))).toMatchObject({ code: "TRANSPORT", retryable: true, reconnect: true });
    expect(classify(new Error("spawn ENOENT"))).toMatchObject({ code: "TRANSPORT", retryable: true, reconnect: true });
  });

  it("HTTP statuses: busy is retried, refused is not", () => {
    const http = (status: number) => Object.assign(new Error(`Streamable HTTP error: status ${status}`), { code: status });
    expect(classify(http(503))).toMatchObject({ code: "TRANSPORT", retryable: true });
    expect(classify(http(429))).toMatchObject({ code: "TRANSPORT", retryable: true });
    expect(classify(http(401))).toMatchObject({ code: "TRANSPORT", retryable: false, reconnect: false });
  });

  it("an aborted call is CANCELLED, never retried (the SDK reports it as a timeout)", () => {
    expect(classify(new McpError(-32001, "AbortError: This operation was aborted"), true)).toMatchObject({ code: "CANCELLED", retryable: false, reconnect: false });
  });

  it("an isError result that carries a JSON-RPC code is classed by it", () => {
    const invalid = classifyToolError("s", "t", "MCP error -32602: Input validation error: a: expected number", true);
    expect(invalid).toMatchObject({ code: "INVALID_ARGUMENTS", retryable: false, rpcCode: -32602, message: "Input validation error: a: expected number" });
    expect(classifyToolError("s", "t", "MCP error -32603: boom", false)).toMatchObject({ code: "TOOL_ERROR", retryable: true });
    expect(classifyToolError("s", "t", "503 Service Unavailable", true)).toMatchObject({ code: "TOOL_ERROR", retryable: true });
    expect(classifyToolError("s", "t", "", false)).toMatchObject({ code: "TOOL_ERROR", retryable: false, message: "s.t failed" });
  });

  it("the SDK's double prefix is said once", () => {
    // What a client gets when the server threw an McpError: the server's prefixed message, prefixed again.
    const error = new McpError(-32601, "MCP error -32601: Method not found");
    expect(error.message).toBe("MCP error -32601: MCP error -32601: Method not found");
    expect(classify(error).message).toBe("srv.tool: Method not found (JSON-RPC -32601, method not found)");
    expect(stripMcpPrefix("MCP error -32603: MCP error -32603: x")).toBe("x");
  });
});

describe("destructive by MCP's defaults, unless the server is trusted", () => {
  it("a tool without hints is destructive; readOnlyHint or destructiveHint: false says otherwise", () => {
    expect(isDestructiveTool({ name: "echo" })).toBe(true);
    expect(isDestructiveTool({ name: "echo", annotations: {} })).toBe(true);
    expect(isDestructiveTool({ name: "echo", annotations: { readOnlyHint: true } })).toBe(false);
    expect(isDestructiveTool({ name: "echo", annotations: { readOnlyHint: false, destructiveHint: false } })).toBe(false);
    expect(isDestructiveTool({ name: "write_file", annotations: { readOnlyHint: false, destructiveHint: true } })).toBe(true);
  });

  it("unannotatedTools: non-destructive trusts tools without hints, not explicit ones", () => {
    expect(isDestructiveTool({ name: "echo", unannotated: "non-destructive" })).toBe(false);
    expect(isDestructiveTool({ name: "echo", unannotated: "destructive" })).toBe(true);
    expect(isDestructiveTool({ name: "wipe", annotations: { destructiveHint: true }, unannotated: "non-destructive" })).toBe(true);
  });

  it("a delete-like name is destructive whatever its hints say", () => {
    expect(isDestructiveTool({ name: "delete_entities", annotations: { readOnlyHint: true } })).toBe(true);
  });
});

describe("a tool's error text is transient only when it says so", () => {
  it.each([
    ["503 Service Unavailable", true],
    ["upstream said HTTP 502", true],
    ["status: 429", true],
    ["Neon API error (code=503)", true],
    ["rate limit exceeded, try later", true],
    ["Too Many Requests", true],
    ["the request timed out", true],
    ["connect ECONNREFUSED 127.0.0.1:5432", true],
    ["name must be at most 500 characters", false],
    ["project 502 not found", false],
    ["quota of 429 databases reached", false],
    ["invalid region", false],
  ])("%s → %s", (text, transient) => {
    expect(isTransientText(text)).toBe(transient);
  });
});

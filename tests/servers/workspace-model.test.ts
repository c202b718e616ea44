import { access, mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ChatOpenAI } from "@langchain/openai";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CODE_GENERATION_SYSTEM_PROMPT } from "../../prompts/workspace.ts";
import { createWorkspaceServer } from "../../src/servers/workspace/server.ts";
import { startOpenAIStub, type OpenAIStub, type StubReply } from "../helpers/openai-stub.ts";

let base: string;
let root: string;
let stub: OpenAIStub | undefined;
const clients: Client[] = [];

beforeAll(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), "ws-model-")));
  root = path.join(base, "root");
  await mkdir(root);
});

afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

afterAll(async () => {
  for (const client of clients) await client.close();
  await rm(base, { recursive: true, force: true });
});

async function connect(replies: StubReply[]): Promise<Client> {
  stub = await startOpenAIStub(replies);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await createWorkspaceServer({ root, model: { name: "gpt-4o-mini", apiKey: "test-key", baseUrl: stub.baseUrl, maxRetries: 0 } }).connect(serverTransport);
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(clientTransport);
  clients.push(client);
  return client;
}

async function call(client: Client, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name: "delegate_code_generation", arguments: args })) as CallToolResult;
}

function text(result: CallToolResult): string {
  const [first] = result.content;
  return first?.type === "text" ? first.text : "";
}

const FILES = {
  files: [
    { path: "package.json", content: '{"type":"module","scripts":{"start":"node src/main.js"}}\n' },
    { path: "src/main.js", content: "console.info('hi');\n" },
  ],
};

describe("delegate_code_generation with a model", () => {
  it("writes the files the model returned and reports mode, model and usage", async () => {
    const client = await connect([{ content: JSON.stringify(FILES), usage: { prompt_tokens: 100, completion_tokens: 40 } }]);
    const result = await call(client, { task: "Create a greeter", context: "Node.js", complexity: "simple", project: "greeter" });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({
      mode: "model",
      template: null,
      model: "gpt-4o-mini",
      project: "greeter",
      project_dir: path.join(root, "greeter"),
      complexity: "simple",
      files: ["package.json", "src/main.js"],
      usage: { inputTokens: 100, outputTokens: 40, totalTokens: 140, model: "gpt-4o-mini" },
      rollback: { tool: "delete_generated_files", arguments: { project: "greeter" } },
    });
    expect(await readFile(path.join(root, "greeter", "src", "main.js"), "utf8")).toBe("console.info('hi');\n");

    const request = stub?.requests[0];
    expect(request?.headers.authorization).toBe("Bearer test-key");
    expect(request?.body.model).toBe("gpt-4o-mini");
    expect(request?.body.response_format).toMatchObject({ type: "json_schema" });
    const messages = request?.body.messages as { role: string; content: string }[];
    expect(messages[0]).toEqual({ role: "system", content: CODE_GENERATION_SYSTEM_PROMPT });
    expect(messages[1]?.content).toContain("Task: Create a greeter");
    expect(messages[1]?.content).toContain("Complexity: simple — one or two source files");
    expect(messages[1]?.content).toContain("Project folder: greeter");
  });

  it("refuses model output with a path escaping the project and writes nothing", async () => {
    const escaping = { files: [...FILES.files, { path: "../../outside.txt", content: "bad" }] };
    const client = await connect([{ content: JSON.stringify(escaping) }]);
    const result = await call(client, { task: "Create a thing", project: "escaper" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^files\[2\]\.path: "..\/..\/outside.txt" is outside the project folder "escaper"/);
    await expect(access(path.join(root, "escaper"))).rejects.toThrow();
    expect(await readdir(base)).toEqual(["root"]);
  });

  it.each([
    ["an absolute path", "/tmp/evil.txt", /must be a relative path/],
    ["a sibling project", "../greeter/hijack.js", /outside the project folder "sibling"/],
    ["a git hook", ".git/hooks/pre-commit", /may not be inside \.git or node_modules/],
  ])("refuses %s in model output", async (_label, file, pattern) => {
    const client = await connect([{ content: JSON.stringify({ files: [{ path: file, content: "x" }, ...FILES.files] }) }]);
    const result = await call(client, { task: "Create a thing", project: "sibling" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^files\[0\]\.path: /);
    expect(text(result)).toMatch(pattern);
  });

  it("refuses model output that would write through a symlink leaving the root", async () => {
    await mkdir(path.join(root, "linked"));
    await symlink(base, path.join(root, "linked", "out"));
    const client = await connect([{ content: JSON.stringify({ files: [{ path: "out/pwned.txt", content: "x" }, ...FILES.files] }) }]);
    const result = await call(client, { task: "Create a thing", project: "linked" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^files\[0\]\.path: .*through a symlink/);
    expect(await readdir(base)).toEqual(["root"]);
  });

  it.each([
    ["no package.json", [{ path: "src/main.js", content: "" }], /^files: the model returned no package.json/],
    ["a start script with shell syntax", [{ path: "package.json", content: '{"scripts":{"start":"npm run build && node dist/x.js"}}' }], /^files\[0\]\.content: package.json scripts.start must be/],
    ["a start script naming a file it did not return", [{ path: "package.json", content: '{"scripts":{"start":"tsx src/index.ts"}}' }], /^files\[0\]\.content: scripts.start runs src\/index.ts, which is not among the files/],
    ["a package.json that is not JSON", [{ path: "package.json", content: "{" }], /^files\[0\]\.content: package.json is not valid JSON/],
  ])("refuses model output with %s (the deploy contract) and writes nothing", async (_label, files, pattern) => {
    const client = await connect([{ content: JSON.stringify({ files }) }]);
    const result = await call(client, { task: "Create a thing", project: "contract" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(pattern);
    await expect(access(path.join(root, "contract"))).rejects.toThrow();
  });

  it("reports a failing model call as a tool error", async () => {
    const client = await connect([{ status: 500, message: "model exploded" }]);
    const result = await call(client, { task: "Create a thing", project: "failing" });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^model "gpt-4o-mini": .*model exploded/);
  });

  it("scaffolds an explicit template without asking the model", async () => {
    const client = await connect([]);
    const result = await call(client, { task: "Create a thing", template: "node-http", project: "templated" });
    expect(result.structuredContent).toMatchObject({ mode: "template", template: "node-http" });
    expect(stub?.requests).toHaveLength(0);
  });
});

describe("startOpenAIStub", () => {
  it("answers tool calls and streams SSE chunks with a final usage chunk", async () => {
    stub = await startOpenAIStub([
      { toolCalls: [{ name: "lookup", arguments: { q: "neon" } }], usage: { prompt_tokens: 5, completion_tokens: 3 } },
      { content: "streamed answer that is longer than one chunk", usage: { prompt_tokens: 7, completion_tokens: 9 } },
    ]);
    const model = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "k", configuration: { baseURL: stub.baseUrl }, maxRetries: 0 });
    const called = await model.bindTools([{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } }]).invoke("find neon");
    expect(called.tool_calls).toEqual([expect.objectContaining({ name: "lookup", args: { q: "neon" } })]);
    expect(called.usage_metadata).toMatchObject({ input_tokens: 5, output_tokens: 3, total_tokens: 8 });

    const chunks: string[] = [];
    let usage: unknown;
    for await (const chunk of await model.stream("say something")) {
      if (typeof chunk.content === "string" && chunk.content !== "") chunks.push(chunk.content);
      if (chunk.usage_metadata) usage = chunk.usage_metadata;
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe("streamed answer that is longer than one chunk");
    expect(usage).toMatchObject({ input_tokens: 7, output_tokens: 9, total_tokens: 16 });
    expect(stub.requests.map((request) => request.body.stream ?? false)).toEqual([false, true]);
  });

  it("answers 500 to a call with no scripted reply", async () => {
    stub = await startOpenAIStub([]);
    const response = await fetch(`${stub.baseUrl}/chat/completions`, { method: "POST", body: JSON.stringify({ model: "m", messages: [] }) });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { message: "no scripted response for call 0", type: "server_error" } });
  });
});

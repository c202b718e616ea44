import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { McpRuntime } from "../../src/mcp/client.ts";
import type { McpConfig } from "../../src/mcp/config.ts";
import { fakeServer, tempDir } from "../helpers/fake-mcp.ts";

const TAP = fileURLToPath(new URL("../fixtures/servers/stdio-tap.mjs", import.meta.url));

/** The fake server behind the stdio tap, whose log shows each connection's `initialize`. */
function tapped(dir: string): { config: McpConfig; connections: () => number } {
  const log = path.join(dir, "tap.jsonl");
  const fake = fakeServer("early", path.join(dir, "calls.jsonl"));
  if (!("command" in fake)) throw new Error("the fake server is a stdio server");
  const config: McpConfig = { mcpServers: { early: { ...fake, args: [TAP, log, fake.command, ...fake.args] } } };
  const connections = (): number =>
    existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((l) => l.includes('"dir":"in"') && l.includes('"method":"initialize"')).length : 0;
  return { config, connections };
}

describe("servers started early", () => {
  it("are taken over by the runtime that connects them: one process, one initialize", async () => {
    const { config, connections } = tapped(tempDir());
    const release = McpRuntime.startEarly(config);
    const runtime = await McpRuntime.connect(structuredClone(config));
    try {
      expect(runtime.tools.map((t) => t.name)).toContain("work");
      expect(await runtime.call("early", "work", { name: "a" })).toBeDefined();
    } finally {
      await runtime.close();
      await release();
    }
    expect(connections()).toBe(1);
  });

  it("are closed by the release when nothing took them, and a later runtime starts its own", async () => {
    const { config, connections } = tapped(tempDir());
    const release = McpRuntime.startEarly(config);
    await release();
    expect(connections()).toBe(1);
    const runtime = await McpRuntime.connect(config);
    await runtime.close();
    expect(connections()).toBe(2);
  });

  it("are not taken by a runtime whose server is configured otherwise", async () => {
    const { config, connections } = tapped(tempDir());
    const release = McpRuntime.startEarly(config);
    const early = config.mcpServers["early"]!;
    const other: McpConfig = { mcpServers: { early: { ...early, env: { ...("env" in early ? early.env : {}), FAKE_DESCRIBE: " (another build)" } } } };
    const runtime = await McpRuntime.connect(other);
    try {
      expect(runtime.tools.find((t) => t.name === "work")?.description).toContain("(another build)");
    } finally {
      await runtime.close();
      await release();
    }
    expect(connections()).toBe(2);
  });
});

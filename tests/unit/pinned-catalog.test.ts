import { readFile, utimes, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildState, codeStamp, STAMP } from "../../bin/build-state.js";
import { loadConfig } from "../../src/config.ts";
import type { ToolInfo } from "../../src/mcp/catalog.ts";
import type { McpConfig } from "../../src/mcp/config.ts";
import { builtinBuilds } from "../../src/mcp/builtin-builds.ts";
import { BIN_PATH } from "../../src/mcp/config.ts";
import { checkPins, pinFilePath, pinnedCatalog, readPins } from "../../src/mcp/pinning.ts";
import { openRoot } from "../../src/run/root.ts";
import { fakeServer, tempDir } from "../helpers/fake-mcp.ts";

// A command that cannot start: a root that tried to spawn it would fail.
const config: McpConfig = { mcpServers: { infra: { command: "/nonexistent/mcp-server", args: ["--stdio"] } } };

const tools = (): ToolInfo[] => [
  {
    server: "infra",
    name: "create_db",
    description: "Creates a database.",
    inputSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
    outputSchema: { type: "object", properties: { url: { type: "string" } } },
    annotations: { destructiveHint: false, readOnlyHint: false },
    meta: { "credit-optimizer/preflight": false },
  },
  { server: "infra", name: "drop_db", description: "Drops it.", inputSchema: { type: "object" }, annotations: { destructiveHint: true } },
];

describe("pinned catalogs", () => {
  it("are read back in full (input and output schemas, annotations, meta) once pinned, and not before", async () => {
    const home = tempDir();
    expect(pinnedCatalog(await readPins(home), config)).toEqual({});
    await checkPins(home, config, tools());
    expect(pinnedCatalog(await readPins(home), config)).toEqual({ infra: tools() });
  });

  it("are not current under another command line or another code stamp", async () => {
    const home = tempDir();
    await checkPins(home, config, tools(), { infra: "sources@1" });
    expect((pinnedCatalog(await readPins(home), config, { infra: "sources@1" }))["infra"]).toHaveLength(2);
    expect(pinnedCatalog(await readPins(home), config, { infra: "sources@2" })).toEqual({});
    const moved: McpConfig = { mcpServers: { infra: { command: "/nonexistent/mcp-server", args: ["--http"] } } };
    expect(pinnedCatalog(await readPins(home), moved, { infra: "sources@1" })).toEqual({});
  });

  it("a live listing with the same catalog refreshes the stamp and keeps pinnedAt; a changed one is reported, the pin kept", async () => {
    const home = tempDir();
    await checkPins(home, config, tools(), { infra: "sources@1" });
    const pinnedAt = (await readPins(home)).servers["infra"]!.pinnedAt;
    const same = await checkPins(home, config, tools(), { infra: "sources@2" });
    expect(same.changed).toEqual([]);
    expect((await readPins(home)).servers["infra"]).toMatchObject({ build: "sources@2", pinnedAt });
    expect((pinnedCatalog(await readPins(home), config, { infra: "sources@2" }))["infra"]).toHaveLength(2);

    const grown = [...tools(), { server: "infra", name: "extra", description: "New.", inputSchema: { type: "object" } }];
    const changed = await checkPins(home, config, grown, { infra: "sources@3" });
    expect(changed.changed[0]?.diff).toContain('tool "extra" added: "New."');
    expect(pinnedCatalog(await readPins(home), config, { infra: "sources@3" })).toEqual({});
  });

  it("an older pin without definitions is not a catalog until a live listing fills it in", async () => {
    const home = tempDir();
    await checkPins(home, config, tools());
    const file = pinFilePath(home);
    const pins = JSON.parse(await readFile(file, "utf8")) as { servers: Record<string, { tools: Record<string, Record<string, unknown>> }> };
    for (const tool of Object.values(pins.servers["infra"]!.tools)) delete tool["inputSchema"];
    await writeFile(file, JSON.stringify(pins));
    expect(pinnedCatalog(await readPins(home), config)).toEqual({});
    await checkPins(home, config, tools());
    expect(pinnedCatalog(await readPins(home), config)).toEqual({ infra: tools() });
  });

  it("a root with catalog: pinned starts no server when the pins are current; a live one must start it", async () => {
    const home = tempDir();
    await checkPins(home, config, tools());
    const appConfig = loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home);
    const pinned = await openRoot(appConfig, { mcpConfig: config, catalog: "pinned" });
    try {
      const ctx = await pinned.context();
      expect(ctx.caller.tools.map((t) => t.name)).toEqual(["create_db", "drop_db"]);
      expect(ctx.untrusted).toEqual({});
      // A call is what starts the server: this one cannot start, and says so.
      await expect(ctx.caller.call("infra", "create_db", { name: "x" })).rejects.toThrow();
    } finally {
      await pinned.close();
    }
    const live = await openRoot(appConfig, { mcpConfig: config });
    try {
      await expect(live.context()).rejects.toThrow();
    } finally {
      await live.close();
    }
  });
  it("a live root reads a built-in server's current pin and starts it only on a call; a third-party server is listed", async () => {
    const home = tempDir();
    // Started through this installation's bin, so it carries the code stamp; the command cannot start.
    const builtin: McpConfig = { mcpServers: { infra: { command: "/nonexistent/node", args: [BIN_PATH, "serve", "infra"] } } };
    const builds = await builtinBuilds(builtin);
    expect(Object.keys(builds)).toEqual(["infra"]);
    await checkPins(home, builtin, tools(), builds);
    const appConfig = loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home);
    const live = await openRoot(appConfig, { mcpConfig: builtin });
    try {
      const ctx = await live.context();
      expect(ctx.caller.tools).toEqual(tools());
      await expect(ctx.caller.call("infra", "create_db", { name: "x" })).rejects.toThrow(/did not connect/);
    } finally {
      await live.close();
    }
    // Pinned under another code stamp: not current, so the live root must list it (and cannot).
    await checkPins(home, builtin, tools(), { infra: "sources@0" });
    const stale = await openRoot(appConfig, { mcpConfig: builtin });
    try {
      await expect(stale.context()).rejects.toThrow(/did not connect/);
    } finally {
      await stale.close();
    }
  });

  it("a pinned root lists only the servers whose pins are not current", async () => {
    const home = tempDir();
    // infra's pin is current (and infra cannot start); other has none, so it is started and listed.
    const two: McpConfig = { mcpServers: { ...config.mcpServers, other: fakeServer("other", path.join(home, "calls.jsonl")) } };
    await checkPins(home, config, tools());
    const root = await openRoot(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home), { mcpConfig: two, catalog: "pinned" });
    try {
      const ctx = await root.context();
      expect(ctx.caller.tools.filter((t) => t.server === "infra")).toEqual(tools());
      expect(ctx.caller.tools.filter((t) => t.server === "other").length).toBeGreaterThan(0);
      expect(Object.keys((await readPins(home)).servers).sort()).toEqual(["infra", "other"]);
    } finally {
      await root.close();
    }
  });
});

describe("build state", () => {
  async function checkout(): Promise<string> {
    const root = tempDir();
    for (const dir of ["src", "agents", "graphs", "prompts"]) await mkdir(path.join(root, dir, "sub"), { recursive: true });
    await writeFile(path.join(root, "src", "sub", "a.ts"), "export {};\n");
    return root;
  }
  const at = (seconds: number): Date => new Date(1_700_000_000_000 + seconds * 1000);

  async function age(root: string, seconds: number): Promise<void> {
    for (const p of ["src/sub/a.ts", "src/sub", "src", "agents/sub", "agents", "graphs/sub", "graphs", "prompts/sub", "prompts"]) {
      await utimes(path.join(root, p), at(seconds), at(seconds));
    }
  }

  it("is absent without a finished build, current after one, stale after an edit, an added file or a tsconfig change", async () => {
    const root = await checkout();
    await age(root, 0);
    expect(buildState(root).state).toBe("absent");
    await mkdir(path.join(root, "dist"), { recursive: true });
    await writeFile(path.join(root, STAMP), JSON.stringify({ startedAt: at(10).getTime() }));
    expect(buildState(root)).toEqual({ state: "current", builtAt: at(10).getTime() });

    await utimes(path.join(root, "src/sub/a.ts"), at(20), at(20));
    expect(buildState(root)).toMatchObject({ state: "stale", newer: path.join("src", "sub", "a.ts") });
    await age(root, 0);
    await writeFile(path.join(root, "graphs", "sub", "new.ts"), "export {};\n");
    expect(buildState(root)).toMatchObject({ state: "stale", newer: path.join("graphs", "sub") });
    await age(root, 0);
    await utimes(path.join(root, "graphs/sub/new.ts"), at(0), at(0));
    expect(buildState(root).state).toBe("current");
    await writeFile(path.join(root, "tsconfig.build.json"), "{}");
    expect(buildState(root)).toMatchObject({ state: "stale", newer: "tsconfig.build.json" });
  });

  it("trusts the build a parent process found current while the stamp still names it", async () => {
    const root = await checkout();
    await age(root, 0);
    await mkdir(path.join(root, "dist"), { recursive: true });
    await writeFile(path.join(root, STAMP), JSON.stringify({ startedAt: at(10).getTime() }));
    await utimes(path.join(root, "src/sub/a.ts"), at(20), at(20));
    // The parent checked build 10: its servers run it without walking the sources again.
    expect(buildState(root, String(at(10).getTime()))).toEqual({ state: "current", builtAt: at(10).getTime() });
    // Any other build (or none named) is checked as usual.
    expect(buildState(root, String(at(9).getTime()))).toMatchObject({ state: "stale", newer: path.join("src", "sub", "a.ts") });
    expect(buildState(root)).toMatchObject({ state: "stale" });
    await writeFile(path.join(root, STAMP), JSON.stringify({ startedAt: at(30).getTime() }));
    expect(buildState(root, String(at(10).getTime()))).toEqual({ state: "current", builtAt: at(30).getTime() });
  });

  it("the code stamp reuses this process's check of the build until it is rebuilt", async () => {
    const root = await checkout();
    await age(root, 0);
    await mkdir(path.join(root, "dist"), { recursive: true });
    await writeFile(path.join(root, STAMP), JSON.stringify({ startedAt: at(10).getTime() }));
    expect(buildState(root).state).toBe("current");
    expect(codeStamp(root)).toBe(`sources@${at(0).getTime()}`);
    // An edit after the check: this process (and the servers it starts) still run the build it checked.
    await utimes(path.join(root, "src/sub/a.ts"), at(5), at(5));
    expect(codeStamp(root)).toBe(`sources@${at(0).getTime()}`);
    // Rebuilt: the sources are walked again.
    await writeFile(path.join(root, STAMP), JSON.stringify({ startedAt: at(20).getTime() }));
    expect(codeStamp(root)).toBe(`sources@${at(5).getTime()}`);
  });

  it("the code stamp follows the newest source", async () => {
    const root = await checkout();
    await age(root, 0);
    const before = codeStamp(root);
    await utimes(path.join(root, "src/sub/a.ts"), at(30), at(30));
    expect(codeStamp(root)).not.toBe(before);
    expect(codeStamp(root)).toBe(`sources@${at(30).getTime()}`);
  });
});

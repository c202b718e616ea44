import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { builtinBuilds } from "../../src/mcp/builtin-builds.ts";
import { adoptBuiltinPins, writeBuiltinPins } from "../../src/mcp/builtin-pins.ts";
import { McpRuntime } from "../../src/mcp/client.ts";
import { builtinEnv, defaultMcpConfig } from "../../src/mcp/config.ts";
import { checkPins, commandLine, pinnedCatalog, readPins, savePins } from "../../src/mcp/pinning.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

describe("the build's pins of the built-in servers", () => {
  it("are what a run's own listing pins, and a state folder without pins takes them on first use", async () => {
    const file = path.join(tempDir(), "builtin-pins.json");
    await writeBuiltinPins(file);
    const home = tempDir();
    // Configured as a run configures them (with the run's environment), which the pins do not depend on.
    const config = defaultMcpConfig(builtinEnv(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home)));
    const builds = await builtinBuilds(config);

    const { adopted } = await adoptBuiltinPins(home, config, builds, file);
    expect(adopted.map((a) => a.server).sort()).toEqual(["thinking", "toolkit", "workspace"]);
    expect(Object.keys(pinnedCatalog(await readPins(home), config, builds)).sort()).toEqual(["thinking", "toolkit", "workspace"]);

    const live = await McpRuntime.connect(config);
    try {
      expect((await checkPins(home, config, live.tools, builds)).changed).toEqual([]);
    } finally {
      await live.close();
    }
  });

  it("are not taken under another code stamp or command line, nor over a pin the state folder has", async () => {
    const file = path.join(tempDir(), "builtin-pins.json");
    const config = defaultMcpConfig();
    const builds = await builtinBuilds(config);
    const pin = (command: string, build: string | undefined) => ({ command, pinnedAt: "2026-01-01T00:00:00.000Z", build, tools: {} });
    const line = (server: string): string => commandLine(config.mcpServers[server]!);
    const servers = {
      toolkit: pin("/usr/bin/node /elsewhere/bin/credit-optimizer.js serve toolkit", builds["toolkit"]),
      thinking: pin(line("thinking"), "sources@1"),
      workspace: pin(line("workspace"), builds["workspace"]),
    };
    await writeFile(file, JSON.stringify({ servers }));

    const home = tempDir();
    const own = { command: "kept", pinnedAt: "2026-02-02T00:00:00.000Z", tools: {} };
    await savePins(home, { workspace: own });
    expect((await adoptBuiltinPins(home, config, builds, file)).adopted).toEqual([]);
    expect((await readPins(home)).servers).toEqual({ workspace: own });
    expect((await adoptBuiltinPins(tempDir(), config, builds, path.join(tempDir(), "absent.json"))).adopted).toEqual([]);
  });
});

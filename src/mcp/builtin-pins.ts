import { chmod, copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PACKAGE_ROOT } from "../package-root.ts";
import { builtinBuilds } from "./builtin-builds.ts";
import { McpRuntime } from "./client.ts";
import { defaultMcpConfig, type McpConfig } from "./config.ts";
import { checkPins, commandLine, pinFilePath, readPins, savePins, type PinCheck, type PinFile, type PinnedServer } from "./pinning.ts";

/**
 * The build's own pins of the built-in servers: `npm run build` lists them once and writes their
 * pins here, with the code stamp they were listed under. A state folder that has no pin yet for a
 * built-in server takes this one on first use (what listing the server would have pinned: the same
 * code gives the same catalog), so even a first run plans without waiting for the servers to start.
 */
export const BUILTIN_PINS = path.join(PACKAGE_ROOT, "dist", "builtin-pins.json");

/**
 * Pins, in `home`, each built-in server of `mcpConfig` (those in `builds`) that has no pin there,
 * from the build's pins when one has the same command line and code stamp. Returns the pin file as
 * it is then, and what it pinned, as a live first use would report it. A server pinned already keeps
 * its pin, whatever it says.
 */
export async function adoptBuiltinPins(home: string, mcpConfig: McpConfig, builds: Record<string, string>, file = BUILTIN_PINS): Promise<{ pins: PinFile; adopted: PinCheck["newlyPinned"] }> {
  const pins = await readPins(home);
  const missing = Object.keys(builds).filter((server) => !pins.servers[server]);
  if (missing.length === 0) return { pins, adopted: [] };
  const shipped = Object.values((await readShipped(file))?.servers ?? {});
  const adopted: Record<string, PinnedServer> = {};
  for (const server of missing) {
    const command = commandLine(mcpConfig.mcpServers[server]!);
    const pin = shipped.find((p) => p.command === command && p.build === builds[server]);
    if (pin) adopted[server] = { ...pin, pinnedAt: new Date().toISOString() };
  }
  if (Object.keys(adopted).length === 0) return { pins, adopted: [] };
  await savePins(home, adopted);
  return { pins: { servers: { ...pins.servers, ...adopted } }, adopted: Object.entries(adopted).map(([server, pin]) => ({ server, command: pin.command })) };
}

/** The build's pins; none when the build did not write them (an older build, or it could not list a server). */
async function readShipped(file: string): Promise<PinFile | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as PinFile;
  } catch {
    return undefined;
  }
}

/** Lists the built-in servers (started as a run starts them) and writes their pins to `file` (bin/build.mjs, once the build is complete). */
export async function writeBuiltinPins(file = BUILTIN_PINS): Promise<void> {
  const config = defaultMcpConfig();
  const home = await mkdtemp(path.join(tmpdir(), "co-builtin-pins-"));
  try {
    const runtime = await McpRuntime.connect(config);
    try {
      await checkPins(home, config, runtime.tools, await builtinBuilds(config));
    } finally {
      await runtime.close();
    }
    await copyFile(pinFilePath(home), file);
    // Pin files are private; this one holds no secret and every user of the installation reads it.
    await chmod(file, 0o644);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

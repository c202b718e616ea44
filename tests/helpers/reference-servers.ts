import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerConfig } from "../../src/mcp/config.ts";
import { freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";

const require = createRequire(import.meta.url);

/** The entry file of an installed reference server (devDependencies). */
function entry(pkg: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "dist", "index.js");
}

export const FILESYSTEM = entry("@modelcontextprotocol/server-filesystem");
export const MEMORY = entry("@modelcontextprotocol/server-memory");
export const EVERYTHING = entry("@modelcontextprotocol/server-everything");
/** The January 2025 release: built on SDK 1.0.1, it speaks only protocol 2024-11-05 and annotates nothing. */
export const EVERYTHING_2025_01 = entry("server-everything-2025-01");
export const EVERYTHING_DIR = path.dirname(path.dirname(EVERYTHING));
export const EVERYTHING_2025_01_DIR = path.dirname(path.dirname(EVERYTHING_2025_01));

const TAP = fileURLToPath(new URL("../fixtures/servers/stdio-tap.mjs", import.meta.url));

export function stdio(file: string, args: string[] = [], env: Record<string, string> = {}): ServerConfig {
  return { command: process.execPath, args: [file, ...args], env };
}

/** The same server behind the stdio tap, which logs every JSON-RPC message to `log`. */
export function tapped(log: string, server: ServerConfig): ServerConfig {
  if (!("command" in server)) throw new Error("only stdio servers can be tapped");
  return { ...server, command: process.execPath, args: [TAP, log, server.command, ...server.args] };
}

export interface TapEntry {
  dir: "in" | "out";
  msg: { id?: number | string; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: unknown };
}

export function readTap(log: string): TapEntry[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as TapEntry);
}

/** `server-everything streamableHttp` on a free port; resolves once it listens. */
export async function startEverythingHttp(): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
      env: { PATH: process.env["PATH"] ?? "", PORT: String(port) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const listening = await new Promise<boolean>((resolve) => {
      let text = "";
      const timer = setTimeout(() => resolve(false), 20_000);
      child.stderr!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes(`listening on port ${port}`)) {
          clearTimeout(timer);
          resolve(true);
        }
        if (/already in use/.test(text)) {
          clearTimeout(timer);
          resolve(false);
        }
      });
      child.on("exit", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    };
    if (listening) return { url: `http://127.0.0.1:${port}/mcp`, child, stop };
    await stop();
    // Another process took the port between the probe and the listen: try another one.
    if (attempt >= 3) throw new Error(`server-everything streamableHttp did not start on a free port after ${attempt} tries`);
  }
}

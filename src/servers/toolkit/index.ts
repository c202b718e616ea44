import type { AppConfig } from "../../config.ts";
import { serveMcp, type RunningServer } from "../transport.ts";
import { toolkitEnvFromConfig } from "./env.ts";
import { createToolkitServer } from "./server.ts";

/** Parses `[--http PORT]`: Streamable HTTP on PORT (0 picks a free one), stdio without it. */
export function parseServeArgs(argv: readonly string[]): { http?: number } {
  let http: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const value = arg === "--http" ? argv[++i] : arg.startsWith("--http=") ? arg.slice("--http=".length) : undefined;
    if (value === undefined) {
      throw new Error(arg === "--http" ? "--http: expected a port number" : `unknown argument "${arg}" (usage: serve toolkit [--http PORT])`);
    }
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--http: expected a port number 0–65535, got "${value}"`);
    http = port;
  }
  return http === undefined ? {} : { http };
}

/** `credit-optimizer serve toolkit [--http PORT]`: serves the toolkit over stdio or Streamable HTTP. */
export async function serveFromArgs(argv: string[], config: AppConfig): Promise<RunningServer> {
  const env = toolkitEnvFromConfig(config);
  return serveMcp(() => createToolkitServer(env), parseServeArgs(argv));
}

import { parseArgs } from "node:util";
import type { AppConfig } from "../../config.ts";
import { serveMcp, type RunningServer } from "../transport.ts";
import { ensureRoot } from "./paths.ts";
import { createWorkspaceServer } from "./server.ts";

/**
 * `credit-optimizer serve workspace [--http PORT] [--root DIR]`: serves the workspace server
 * over stdio, or Streamable HTTP with `--http`. The root defaults to `config.workspaceRoot`
 * and is created when missing.
 */
export async function serveFromArgs(argv: string[], config: AppConfig): Promise<RunningServer> {
  const { values } = parseArgs({
    args: argv,
    options: { http: { type: "string" }, root: { type: "string" } },
    strict: true,
  });
  const port = values.http === undefined ? undefined : Number(values.http);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new Error(`--http: expected a port number (0-65535), got "${values.http}"`);
  }
  const root = await ensureRoot(values.root ?? config.workspaceRoot);
  return serveMcp(() => createWorkspaceServer({ root, model: config.model, searchPath: config.env.PATH }), { http: port });
}

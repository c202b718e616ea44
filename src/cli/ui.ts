import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { AppConfig } from "../config.ts";
import { findExecutable } from "../find-executable.ts";
import { isLoopback, startViewer } from "../ui/server.ts";
import { UsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";
import { withRoot, type StateOptions } from "./run.ts";

export interface UiOptions extends StateOptions {
  port?: string;
  host?: string;
  open?: boolean;
}

/**
 * `ui`: the local viewer on the same checkpointer and ledger as the CLI, until Ctrl-C. On a
 * non-loopback host it needs a token: CREDIT_OPTIMIZER_UI_TOKEN, else a fresh one printed once.
 */
export async function uiCommand(options: UiOptions, config: AppConfig, io: Io, stop: AbortSignal = shutdownSignal()): Promise<number> {
  const port = options.port === undefined ? 0 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0–65535), got "${options.port}"`);
  const host = options.host ?? "127.0.0.1";
  const token = isLoopback(host) ? undefined : (config.env.CREDIT_OPTIMIZER_UI_TOKEN ?? randomBytes(18).toString("base64url"));
  return withRoot(config, options, io, async (root) => {
    const viewer = await startViewer(root, { host, port, token, onDriveEnd: (thread, outcome) => io.err(`thread ${thread}: ${outcome}`) });
    // The token is printed once, here, and only when it was generated (a configured one is already known).
    const url = token && !config.env.CREDIT_OPTIMIZER_UI_TOKEN ? `${viewer.url}/?token=${token}` : viewer.url;
    io.out(`credit-optimizer ui: ${url} (${root.checkpointer.description}); Ctrl-C stops it`);
    io.err(`live updates: ${viewer.changes}`);
    if (options.open) await openBrowser(viewer.url, config, io);
    await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener("abort", () => resolve(), { once: true })));
    await viewer.close();
    return EXIT.ok;
  });
}

function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  return controller.signal;
}

async function openBrowser(url: string, config: AppConfig, io: Io): Promise<void> {
  const opener = (await findExecutable("xdg-open", config.env.PATH)) ?? (await findExecutable("open", config.env.PATH));
  if (!opener) return io.err(`--open: no xdg-open or open on PATH; open ${url} yourself`);
  spawn(opener, [url], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
}

import type { AppConfig } from "../config.ts";
import type { RunningServer } from "../servers/transport.ts";
import { EXIT, type Io } from "./io.ts";

/** What each built-in server's entry file (src/servers/<name>/index.ts) exports. */
export interface BuiltinServer {
  serveFromArgs(argv: string[], config: AppConfig): Promise<RunningServer>;
}

/**
 * Serves one built-in server until stdin closes (stdio) or a signal comes, then closes it. Both ways
 * in call this: the `serve` command (src/cli/serve.ts), and the server's own bundle
 * (src/cli/serve-main.ts), which bin/credit-optimizer.js starts without the command layer when the
 * build is current.
 */
export async function serveServer(server: BuiltinServer, name: string, args: string[], config: AppConfig, io: Io): Promise<number> {
  const running = await server.serveFromArgs(args, config);
  if (running.url) io.err(`${name} MCP server listening on ${running.url}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    if (!running.url) process.stdin.once("close", resolve);
  });
  await running.close();
  // Leave once the event loop has nothing left to do (every call still running has finished, its
  // cleanup included): process.exit skips tearing down the heap, which a server that ran calls
  // spent 150-400 ms on while still holding its client's stderr, so the client waited for it.
  process.once("beforeExit", () => process.exit());
  return EXIT.ok;
}

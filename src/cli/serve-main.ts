import { loadConfig } from "../config.ts";
import { failureExitCode } from "./failure.ts";
import { consoleIo } from "./io.ts";
import { serveServer, type BuiltinServer } from "./serve-server.ts";

/**
 * `serve <name> [args]` inside a built-in server's own bundle (bin/build.mjs bundleServers), which
 * bin/credit-optimizer.js runs without loading the command layer: the same serving and the same
 * error messages and exit codes as the `serve` command.
 */
export async function serveMain(server: BuiltinServer, name: string, args: string[]): Promise<number> {
  try {
    return await serveServer(server, name, args, loadConfig(), consoleIo);
  } catch (error) {
    return failureExitCode(error, consoleIo);
  }
}

import type { AppConfig } from "../config.ts";
import { EXIT, type Io } from "./io.ts";
import { serveServer, type BuiltinServer } from "./serve-server.ts";

const SERVERS = ["thinking", "toolkit", "workspace"] as const;

/** `serve thinking|toolkit|workspace [--http PORT]`: a built-in MCP server until stdin closes or a signal. */
export async function serveCommand(name: string, args: string[], config: AppConfig, io: Io): Promise<number> {
  if (!(SERVERS as readonly string[]).includes(name)) {
    io.err(`serve needs a server name: ${SERVERS.join(", ")} (got ${name})`);
    return EXIT.badInput;
  }
  return serveServer((await import(`../servers/${name}/index.ts`)) as BuiltinServer, name, args, config, io);
}

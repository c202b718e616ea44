import type { AppConfig } from "../config.ts";
import { EXIT, type Io } from "./io.ts";

const SERVERS = ["thinking", "toolkit", "workspace"] as const;

/** `serve thinking|toolkit|workspace [--http PORT]`: a built-in MCP server until stdin closes or a signal. */
export async function serveCommand(name: string, args: string[], config: AppConfig, io: Io): Promise<number> {
  if (!(SERVERS as readonly string[]).includes(name)) {
    io.err(`serve needs a server name: ${SERVERS.join(", ")} (got ${name})`);
    return EXIT.badInput;
  }
  const mod = (await import(`../servers/${name}/index.ts`)) as {
    serveFromArgs(argv: string[], config: AppConfig): Promise<{ url?: string; close(): Promise<void> }>;
  };
  const server = await mod.serveFromArgs(args, config);
  if (server.url) io.err(`${name} MCP server listening on ${server.url}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    if (!server.url) process.stdin.once("close", resolve);
  });
  await server.close();
  return EXIT.ok;
}

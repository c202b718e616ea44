import { buildStateModule, PACKAGE_ROOT } from "../package-root.ts";
import { isBuiltinServer, type McpConfig } from "./config.ts";

/**
 * The code stamp of each built-in server in `mcpConfig` (the ones started through this
 * installation's bin): their command line never changes when their code does, so a pin records the
 * stamp too. Third-party servers get none. One walk over the sources' modification times (a few ms),
 * only when a built-in server is configured.
 */
export async function builtinBuilds(mcpConfig: McpConfig): Promise<Record<string, string>> {
  const builtin = Object.entries(mcpConfig.mcpServers)
    .filter(([, server]) => isBuiltinServer(server))
    .map(([name]) => name);
  if (builtin.length === 0) return {};
  const stamp = (await buildStateModule()).codeStamp(PACKAGE_ROOT);
  return Object.fromEntries(builtin.map((name) => [name, stamp]));
}

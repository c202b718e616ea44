import type { AppConfig } from "../config.ts";
import { toolkitEnvFromConfig } from "../servers/toolkit/env.ts";
import { maskSecrets } from "../secrets.ts";
import { formatSmoke, parseSmokeArgs, smoke } from "../servers/toolkit/smoke.ts";
import { EXIT, type Io } from "./io.ts";

/**
 * `smoke --provider neon|upstash|vercel|fly|github|all`: checks a cloud account with the user's own
 * token by creating, reading and deleting one small resource. A provider without a token is skipped
 * with the variable to set. 1 when a check failed (a resource left behind is named).
 */
export async function smokeCommand(providers: string[], config: AppConfig, io: Io): Promise<number> {
  const env = toolkitEnvFromConfig(config);
  const tokens = [env.neon?.apiKey, env.upstash?.apiKey, env.vercel?.token, env.fly?.token, env.github?.token].filter((t): t is string => t !== undefined);
  let failed = false;
  try {
    for (const provider of parseSmokeArgs(providers.flatMap((p) => ["--provider", p]))) {
      const result = await smoke(provider, env);
      failed ||= result.status === "failed";
      io.out(maskSecrets(formatSmoke(result), tokens));
    }
  } catch (error) {
    io.err(maskSecrets(error instanceof Error ? error.message : String(error), tokens));
    failed = true;
  }
  return failed ? EXIT.failed : EXIT.ok;
}

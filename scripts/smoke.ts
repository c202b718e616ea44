/*
 * `npm run smoke -- --provider neon` (or upstash, vercel, fly, github, all): checks a cloud account
 * with the user's own token by creating, reading and deleting one small resource. A provider
 * without a token is skipped with the variable to set. Exit code 1 when a check failed.
 */
import { loadConfig } from "../src/config.ts";
import { toolkitEnvFromConfig } from "../src/servers/toolkit/env.ts";
import { scrubSecrets } from "../src/servers/toolkit/http.ts";
import { formatSmoke, parseSmokeArgs, smoke } from "../src/servers/toolkit/smoke.ts";

const config = loadConfig();
const env = toolkitEnvFromConfig(config);
const tokens = [env.neon?.apiKey, env.upstash?.apiKey, env.vercel?.token, env.fly?.token, env.github?.token].filter((t): t is string => t !== undefined);
let failed = false;
try {
  for (const provider of parseSmokeArgs(process.argv.slice(2))) {
    const result = await smoke(provider, env);
    failed ||= result.status === "failed";
    console.log(scrubSecrets(formatSmoke(result), tokens));
  }
} catch (error) {
  console.error(scrubSecrets(error instanceof Error ? error.message : String(error), tokens));
  failed = true;
}
process.exitCode = failed ? 1 : 0;

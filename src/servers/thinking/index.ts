import type { AppConfig } from "../../config.ts";
import { serveMcp, type RunningServer } from "../transport.ts";
import { parseThinkingArgs } from "./args.ts";
import { createThinkingServer } from "./server.ts";
import { ThinkingStore } from "./store.ts";

/** `credit-optimizer serve thinking [flags]`: one session store, served over stdio or Streamable HTTP. */
export async function serveFromArgs(argv: string[], config: AppConfig): Promise<RunningServer> {
  const options = parseThinkingArgs(argv, config);
  const store = new ThinkingStore({ file: options.db, ttlMs: options.ttlMs, maxEntriesPerSession: options.maxThoughtsPerSession });
  const context = { store, agentId: options.agentId, maxThoughtLength: options.maxThoughtLength };
  try {
    const running = await serveMcp(() => createThinkingServer(context), { http: options.http, host: options.host });
    return {
      url: running.url,
      async close() {
        await running.close();
        store.close();
      },
    };
  } catch (error) {
    store.close();
    throw error;
  }
}

import type { AppConfig } from "./config.ts";

/** Whether LANGSMITH_TRACING is on; apart from tracing.ts so `doctor` can ask without loading LangChain. */
export function tracingEnabled(config: AppConfig): boolean {
  return /^(1|true|yes)$/i.test(config.env.LANGSMITH_TRACING ?? "");
}

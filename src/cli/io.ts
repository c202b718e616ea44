import type { Io } from "./run.ts";

/**
 * The console as an Io, in a module that loads nothing else: a quick command (`doctor`) should
 * not pay for run.ts's imports (the graphs, LangChain, the MCP adapters) just to print.
 */
export const stdIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

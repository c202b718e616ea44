import { isUsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";

/** Error codes that mean the input was wrong (exit 2), not that the work failed (exit 1). */
const BAD_INPUT_CODES = ["PLAN_INVALID", "MCP_CONFIG_INVALID", "INVALID_ARGS", "THREAD_BUSY", "THREAD", "USAGE"];

/** Says what went wrong on stderr and returns the exit code: a command's error, or a served built-in server's. */
export function failureExitCode(error: unknown, io: Io): number {
  if (isUsageError(error)) {
    io.err(error.message);
    return EXIT.badInput;
  }
  const errorCode = String((error as { code?: unknown }).code);
  io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
  return BAD_INPUT_CODES.includes(errorCode) ? EXIT.badInput : EXIT.failed;
}

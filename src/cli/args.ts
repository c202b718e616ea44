import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with errors that say which flag was wrong. */
export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--param key=value` pairs; values that are JSON (numbers, booleans, objects) keep their type. */
export function parseParams(pairs: readonly string[] | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--param expects key=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

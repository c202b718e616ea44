/** What went wrong in the cost library: a bad config file, a ledger that cannot be opened or written. */
export type CostErrorCode = "COST_CONFIG" | "LEDGER";

export class CostError extends Error {
  constructor(
    readonly code: CostErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "CostError";
  }
}

export function isCostError(error: unknown): error is CostError {
  return error instanceof CostError;
}

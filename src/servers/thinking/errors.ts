export type ThinkingErrorCode =
  | "SESSION_NOT_FOUND"
  | "THOUGHT_NOT_FOUND"
  | "THOUGHT_LIMIT"
  | "THOUGHT_TOO_LONG"
  | "INVALID_ARGS";

/** A failure a caller can fix: reported as an `isError` tool result, or a bad `serve thinking` flag. */
export class ThinkingError extends Error {
  readonly code: ThinkingErrorCode;

  constructor(code: ThinkingErrorCode, message: string) {
    super(message);
    this.name = "ThinkingError";
    this.code = code;
  }
}

export function isThinkingError(error: unknown): error is ThinkingError {
  return error instanceof ThinkingError;
}

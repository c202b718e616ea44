/** Why a workspace tool refused or failed. */
export type WorkspaceErrorCode =
  | "OUTSIDE_ROOT"
  | "NOT_FOUND"
  | "INVALID_INPUT"
  | "FILE_EXISTS"
  | "MODEL_OUTPUT"
  | "COMMAND_FAILED";

/** A workspace tool failure; `field` names the input field or path it is about. */
export class WorkspaceError extends Error {
  override readonly name = "WorkspaceError";
  readonly code: WorkspaceErrorCode;
  readonly field?: string;

  constructor(code: WorkspaceErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

export function isWorkspaceError(value: unknown): value is WorkspaceError {
  return value instanceof WorkspaceError;
}

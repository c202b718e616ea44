/** What a person answered (the value an approval interrupt is resumed with). */
export interface ApprovalAnswer {
  approved: boolean;
  note?: string;
}

/** The payload of the running-budget interrupt: the run spent what it was allowed; held steps wait. */
export interface BudgetRequest {
  kind: "budget";
  question: string;
  reasons: string[];
  /** Steps that have not started and wait for the answer. */
  held: string[];
}

/** `true`, `"approve"`/`"yes"`/`"y"`, or `{ approved: boolean, note? }`; anything else declines. */
export function parseAnswer(value: unknown): ApprovalAnswer {
  if (typeof value === "boolean") return { approved: value };
  if (typeof value === "string") return { approved: /^(y|yes|approve|approved|ok)$/i.test(value.trim()) };
  if (typeof value === "object" && value !== null && "approved" in value) {
    const v = value as { approved: unknown; note?: unknown };
    return { approved: v.approved === true, note: typeof v.note === "string" ? v.note : undefined };
  }
  return { approved: false, note: "unrecognised answer" };
}

/** Fills `{placeholder}`s of a prompt constant; a placeholder without a value is an error. */
export class PromptFormatError extends Error {
  readonly code = "PROMPT_PLACEHOLDER";
  constructor(readonly placeholder: string) {
    super(`prompt placeholder {${placeholder}} has no value`);
    this.name = "PromptFormatError";
  }
}

export function isPromptFormatError(error: unknown): error is PromptFormatError {
  return error instanceof PromptFormatError;
}

/** Replaces `{name}` (not `${name}`, which plans use) with `values[name]`; inserted values are never scanned again. */
export function formatPrompt(template: string, values: Record<string, string | number>): string {
  return template.replace(/(?<!\$)\{([a-z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new PromptFormatError(name);
    return String(value);
  });
}

/**
 * Compact JSON for a delimited data block inside a prompt (indentation would cost a third more
 * tokens); closing tags in the data cannot end the block early.
 */
export function quoteData(value: unknown): string {
  return quoteText(JSON.stringify(value));
}

/** Text for a delimited data block: a closing tag inside it cannot end the block early. */
export function quoteText(text: string): string {
  return text.replace(/<\//g, "<\\/");
}

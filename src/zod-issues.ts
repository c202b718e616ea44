/** A zod issue, as every parser here reports it. */
export interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * Each issue as `path.to.field: message`: the one way bad input is named, whatever parsed it. The
 * path is put under `prefix` (a config section, a tool argument); an empty path reads `root`.
 */
export function issueTexts(issues: readonly Issue[], prefix = "", root = "(root)"): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== "").join(".");
    return `${path === "" ? root : path}: ${issue.message}`;
  });
}

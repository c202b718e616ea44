export declare const SOURCE_DIRS: string[];
export declare const BUILD_INPUTS: string[];
export declare const STAMP: string;
export declare const CHECKED_ENV: string;
export interface BuildState {
  state: "current" | "stale" | "absent";
  /** When the build started (ms since the epoch). */
  builtAt?: number;
  /** The first source (relative to the package root) found newer than the build. */
  newer?: string;
}
export declare function buildState(root: string, trusted?: string): BuildState;
export declare function codeStamp(root: string): string;

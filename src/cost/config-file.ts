import { issueTexts } from "../zod-issues.ts";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { AppConfig } from "../config.ts";
import { CostError } from "./errors.ts";

/**
 * The cost config file: `CREDIT_OPTIMIZER_CONFIG_FILE`, else `<home>/config.json` when it exists.
 * It holds a `pricing` section (see pricing.ts) and a `routing` section (see routing.ts).
 */
export function costConfigPath(config: Pick<AppConfig, "home" | "env">): string | undefined {
  const given = config.env.CREDIT_OPTIMIZER_CONFIG_FILE;
  if (given) return path.resolve(given);
  const file = path.join(config.home, "config.json");
  return existsSync(file) ? file : undefined;
}

/** One top-level section of a JSON config file, or undefined when the file has none. */
export function readConfigSection(file: string, section: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CostError("COST_CONFIG", `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CostError("COST_CONFIG", `config file ${file} is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CostError("COST_CONFIG", `config file ${file} must hold a JSON object`);
  }
  return (json as Record<string, unknown>)[section];
}

/** A zod issue list as lines naming the file, the section and the field. */
export function issueLines(file: string, section: string, issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return `${file}:\n${issueTexts(issues, section).map((l) => `  ${l}`).join("\n")}`;
}

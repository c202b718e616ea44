import { z } from "zod";
import { findExecutable } from "../find-executable.ts";

/*
 * The preflight contract between the engine and a server: a read-only tool, marked with
 * `_meta[PREFLIGHT_META_KEY] = true`, takes the names of the tools a plan will call on that server
 * and says, without creating anything, what stands in the way of serving them — each problem with
 * the one thing to do about it.
 */

export const PREFLIGHT_META_KEY = "credit-optimizer/preflight";

export const PreflightInput = z.object({
  tools: z.array(z.string().min(1)).max(1000).describe("Names of the tools on this server that the plan will call"),
});

/** What a preflight tool answers (its declared outputSchema). */
export const PreflightOutputSchema = z.object({
  ok: z.boolean(),
  problems: z.array(z.object({ tools: z.array(z.string()), problem: z.string(), fix: z.string() })),
});

export interface PreflightFinding {
  /** The tools (of those asked about) that the problem stops. */
  tools: string[];
  /** What is wrong, one line, no secrets. */
  problem: string;
  /** What to do about it, one line. */
  fix: string;
}

export interface PreflightOutput {
  ok: boolean;
  problems: PreflightFinding[];
}

/** The output of a preflight tool from its findings. */
export function preflightOutput(problems: PreflightFinding[]): PreflightOutput & Record<string, unknown> {
  return { ok: problems.length === 0, problems };
}

/** A backend's answer to "can you serve?" (preflight and `doctor` say the same thing). */
export interface ServiceStatus {
  ok: boolean;
  /** Postgres: server | embedded | cloud | none; Redis: server | private | cloud | none; tools: installed | none. */
  kind: string;
  /** One line, no secrets. */
  detail: string;
  /** What to do, when not ok (one line). */
  fix?: string;
}

export async function gitStatus(env: { searchPath?: string }): Promise<ServiceStatus> {
  const git = await findExecutable("git", env.searchPath);
  if (git) return { ok: true, kind: "installed", detail: git };
  return {
    ok: false,
    kind: "none",
    detail: "git is not installed (not on the PATH)",
    fix: "install git (Debian/Ubuntu: sudo apt-get install -y git; macOS: xcode-select --install or brew install git)",
  };
}

import type { AppConfig } from "../config.ts";
import { runDoctor } from "../doctor/checks.ts";
import { renderDoctor } from "../doctor/render.ts";
import { parse, UsageError } from "./args.ts";
import type { Io } from "./run.ts";

/** `doctor [--json]`: what this machine has for a run, each problem with its fix; exit 1 when something fails. */
export async function doctorCommand(argv: string[], config: AppConfig, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } } as const);
  if (positionals.length > 0) throw new UsageError(`doctor takes no arguments, got "${positionals.join(" ")}"`);
  const report = await runDoctor(config);
  io.out(values.json ? JSON.stringify(report, null, 2) : renderDoctor(report));
  return report.ok ? 0 : 1;
}

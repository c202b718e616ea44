import type { AppConfig } from "../config.ts";
import { runDoctor } from "../doctor/checks.ts";
import { renderDoctor } from "../doctor/render.ts";
import { EXIT, type Io } from "./io.ts";

/** `doctor [--json]`: what this machine has for a run, each problem with its fix; exit 1 when something fails. */
export async function doctorCommand(options: { json?: boolean }, config: AppConfig, io: Io): Promise<number> {
  const report = await runDoctor(config);
  io.out(options.json ? JSON.stringify(report, null, 2) : renderDoctor(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

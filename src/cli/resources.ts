import type { AppConfig } from "../config.ts";
import { RESOURCE_LABEL } from "../planner/inventory.ts";
import { checkInventory, runInventory, type CheckedEntry } from "../planner/run-inventory.ts";
import { openRoot } from "../run/root.ts";
import { maskSecrets } from "../secrets.ts";
import type { Io } from "./io.ts";

/** The built-in server that holds the providers' list tools. */
const TOOLKIT = "toolkit";

/**
 * `resources [--json] [--check]`: what earlier runs made — kind, name, id, the run that made it — and
 * what a later run deleted; with `--check`, each held against the providers' list tools (exit 1 when
 * one the runs did not delete is gone at its provider).
 */
export async function resourcesCommand(
  values: { json?: boolean; check?: boolean; checkpointer?: string; mcpConfig?: string },
  config: AppConfig,
  io: Io,
): Promise<number> {
  const root = await openRoot(config, { checkpointer: values.checkpointer, mcpConfigPath: values.mcpConfig, catalog: "pinned" });
  try {
    const entries = await runInventory({ ledger: root.ledger, saver: root.checkpointer.saver }).entries();
    let shown: CheckedEntry[] = entries.map((e) => ({ ...e, status: e.goneBy ? "gone" : "exists" }));
    if (values.check && entries.some((e) => !e.goneBy)) {
      const { caller } = await root.context();
      shown = await checkInventory(entries, (tool, args) => caller.call(TOOLKIT, tool, args));
    }
    const missing = shown.filter((e) => e.status === "missing").length;
    if (values.json) io.out(JSON.stringify({ checked: values.check === true, resources: shown }, null, 2));
    else io.out(renderResources(shown, values.check === true));
    return missing > 0 ? 1 : 0;
  } finally {
    await root.close();
  }
}

/** One line per resource, newest first; gone ones last. */
export function renderResources(entries: readonly CheckedEntry[], checked: boolean): string {
  if (entries.length === 0) return "no resources yet: nothing any run created is recorded (run a request that creates something first)";
  const order = { exists: 0, unchecked: 1, missing: 2, gone: 3 } as const;
  const rows = [...entries].sort((a, b) => order[a.status] - order[b.status] || b.at - a.at).map((e) => [RESOURCE_LABEL[e.kind], e.name, e.id, e.run, statusText(e, checked)]);
  const header = ["kind", "name", "id", "run", "status"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  const live = entries.filter((e) => e.status === "exists" || e.status === "unchecked").length;
  return [line(header), ...rows.map(line), "", `${live} existing, ${entries.length - live} gone${checked ? " (checked against the providers' list tools)" : " (from the runs; --check asks the providers)"}`].join("\n");
}

function statusText(e: CheckedEntry, checked: boolean): string {
  if (e.status === "gone") return `deleted (${e.goneBy})`;
  if (e.status === "missing") return "gone at the provider (not deleted by a run)";
  if (e.status === "unchecked") return checked ? `exists (not checked: ${maskSecrets(e.detail ?? "no list tool")})` : "exists";
  return checked ? "exists (checked)" : "exists";
}

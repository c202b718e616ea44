import type { AppConfig } from "../config.ts";
import type { BudgetCaps } from "./budget.ts";
import { costConfigPath } from "./config-file.ts";
import { loadPricing, type Pricing } from "./pricing.ts";
import { loadRouting, type RoutingTable } from "./routing.ts";

export interface CostSettings {
  /** The config file the pricing and routing came from, if any. */
  file?: string;
  pricing: Pricing;
  routing: RoutingTable;
  caps: BudgetCaps;
}

/** Pricing, routing and budget caps for this configuration (see costConfigPath for the file). */
export function loadCostSettings(config: Pick<AppConfig, "home" | "env" | "budgets">): CostSettings {
  const file = costConfigPath(config);
  const settings: CostSettings = { pricing: loadPricing(file), routing: loadRouting(file), caps: config.budgets };
  if (file !== undefined) settings.file = file;
  return settings;
}

import type { ToolkitTool } from "../tool.ts";
import { neonTools } from "./neon.ts";
import { upstashTools } from "./upstash.ts";

/** Every provider's tools, in the order tools/list shows them. */
export const allTools: ToolkitTool[] = [
  ...neonTools,
  ...upstashTools,
  // further providers: import their `<name>Tools` above and spread them here
];

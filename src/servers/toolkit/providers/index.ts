import type { ToolkitTool } from "../tool.ts";
import { neonTools } from "./neon.ts";
import { upstashTools } from "./upstash.ts";
import { vercelTools } from "./vercel.ts";
import { flyTools } from "./fly.ts";
import { githubTools } from "./github.ts";

/** Every provider's tools, in the order tools/list shows them. */
export const allTools: ToolkitTool[] = [
  ...neonTools,
  ...upstashTools,
  ...vercelTools,
  ...flyTools,
  ...githubTools,
  // further providers: import their `<name>Tools` above and spread them here
];

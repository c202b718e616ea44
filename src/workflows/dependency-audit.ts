import { z } from "zod";
import { ESTIMATES } from "./estimates.ts";
import { workspaceProject } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({ project: workspaceProject });

export const dependencyAudit: WorkflowTemplate<typeof params> = {
  id: "dependency-audit",
  name: "Dependency Audit",
  description: "Audit a project's npm dependencies offline: packages missing from the lockfile, wildcard or dist-tag versions, git/URL and local-path specs",
  category: "code-quality",
  tags: ["dependencies", "npm", "audit", "package.json", "lockfile", "supply chain", "packages"],
  examples: [
    "Audit my npm dependencies",
    "Check package.json for risky dependency versions",
    "Are all my packages pinned in the lockfile?",
  ],
  params,
  plan: {
    name: "Dependency Audit",
    steps: [{ id: "audit", agent: "coding", tool: "workspace.audit_dependencies", dependencies: [], params: { project: "${project}" }, estimate: ESTIMATES.scan }],
  },
};

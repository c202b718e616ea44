import { z } from "zod";
import type { PlanInput } from "../plan/schema.ts";
import { ESTIMATES } from "./estimates.ts";
import { resourceId, resourceName } from "./params.ts";
import type { WorkflowTemplate } from "./types.ts";

const params = z.object({
  project_id: resourceId("Neon project to back up"),
  label: resourceName("nightly", "Backup label; the branch is backup-<label>"),
  restore: z.boolean().default(true).describe("Also restore the backup into a restore-<label> branch to prove it is usable"),
});

type Params = z.infer<typeof params>;

/** A point-in-time copy as a branch of the default branch; optionally restored into a second branch. */
function build(values: Pick<Params, "restore">): Omit<PlanInput, "params"> {
  const backup = {
    id: "backup",
    agent: "db",
    tool: "toolkit.neon_create_branch",
    dependencies: [],
    params: { project_id: "${project_id}", name: "backup-${label}" },
    estimate: ESTIMATES.neonBranch,
  };
  const restore = {
    id: "restore",
    agent: "db",
    tool: "toolkit.neon_create_branch",
    dependencies: ["backup"],
    params: { project_id: "${project_id}", name: "restore-${label}", parent_id: "${backup.branch_id}" },
    estimate: ESTIMATES.neonBranch,
  };
  return { name: values.restore ? "Database Backup and Restore" : "Database Backup", steps: values.restore ? [backup, restore] : [backup] };
}

export const databaseBackup: WorkflowTemplate<typeof params> = {
  id: "database-backup",
  name: "Database Backup and Restore",
  description: "Back up a Neon Postgres database as a point-in-time branch (backup-<label>) and restore it into a new branch (restore-<label>) to prove the backup works",
  category: "operations",
  tags: ["backup", "restore", "snapshot", "point in time", "disaster recovery", "postgres"],
  examples: [
    "Back up my Neon database",
    "Take a snapshot of the production database and test restoring it",
    "Nightly database backup with a restore check",
  ],
  params,
  plan: build({ restore: true }),
  build,
};

import { z } from "zod";
import { Plan } from "../plan/schema.ts";
import { databaseBackup } from "./database-backup.ts";
import { dependencyAudit } from "./dependency-audit.ts";
import { featureBranch } from "./feature-branch.ts";
import { flyDeploy } from "./fly-deploy.ts";
import { flyRedisWorker } from "./fly-redis-worker.ts";
import { githubRepoBootstrap } from "./github-repo-bootstrap.ts";
import { healthCheck } from "./health-check.ts";
import { lintAndTypecheck } from "./lint-and-typecheck.ts";
import { multiTenantProvision } from "./multi-tenant-provision.ts";
import { neonEnvironments } from "./neon-environments.ts";
import { neonFullSetup } from "./neon-full-setup.ts";
import { openPullRequest } from "./open-pull-request.ts";
import { prDatabaseBranch } from "./pr-database-branch.ts";
import { preCommitCheck } from "./pre-commit-check.ts";
import { previewEnvironment } from "./preview-environment.ts";
import { previewTeardown } from "./preview-teardown.ts";
import { qualityGate } from "./quality-gate.ts";
import { radCrawlerSetup } from "./rad-crawler-setup.ts";
import { redeployApp } from "./redeploy-app.ts";
import { redisCacheSuite } from "./redis-cache-suite.ts";
import { releaseBranch } from "./release-branch.ts";
import { scaffoldService } from "./scaffold-service.ts";
import { syncAppSecrets } from "./sync-app-secrets.ts";
import { teardownEnvironment } from "./teardown-environment.ts";
import { techDebtReport } from "./tech-debt-report.ts";
import { testReport } from "./test-report.ts";
import { upstashRedisSetup } from "./upstash-redis-setup.ts";
import { vercelDeploy } from "./vercel-deploy.ts";
import type { WorkflowCategory, WorkflowTemplate } from "./types.ts";

export type { WorkflowCategory, WorkflowTemplate } from "./types.ts";

/** Every template, grouped by category in the order `credit-optimizer workflows` lists them. */
export const workflows: WorkflowTemplate[] = [
  radCrawlerSetup,
  neonFullSetup,
  upstashRedisSetup,
  vercelDeploy,
  multiTenantProvision,
  flyDeploy,
  flyRedisWorker,
  previewEnvironment,
  neonEnvironments,
  redisCacheSuite,
  lintAndTypecheck,
  qualityGate,
  testReport,
  dependencyAudit,
  techDebtReport,
  preCommitCheck,
  scaffoldService,
  githubRepoBootstrap,
  featureBranch,
  openPullRequest,
  prDatabaseBranch,
  releaseBranch,
  healthCheck,
  syncAppSecrets,
  databaseBackup,
  redeployApp,
  previewTeardown,
  teardownEnvironment,
];

/** The templates the seed request names (Task 1.2 and 1.4). */
export const REQUIRED_WORKFLOW_IDS = ["rad-crawler-setup", "neon-full-setup", "upstash-redis-setup", "vercel-deploy", "multi-tenant-provision"] as const;

export const WORKFLOW_CATEGORIES: readonly WorkflowCategory[] = ["infrastructure", "code-quality", "development", "operations"];

export function getWorkflow(id: string): WorkflowTemplate | undefined {
  return workflows.find((w) => w.id === id);
}

/** Bad or unknown parameter values for a template; the message names the template and each parameter. */
export class WorkflowParamsError extends Error {
  readonly code = "WORKFLOW_PARAMS_INVALID";
  constructor(
    readonly workflow: string,
    readonly problems: string[],
  ) {
    super(`workflow "${workflow}": ${problems.join("; ")}`);
    this.name = "WorkflowParamsError";
  }
}

export function isWorkflowParamsError(error: unknown): error is WorkflowParamsError {
  return error instanceof WorkflowParamsError;
}

/**
 * The template's plan for these parameter values: values are parsed with the template's schema
 * (defaults filled in), and become the plan's `params`, which the engine substitutes for `${name}`.
 */
export function instantiate(template: WorkflowTemplate, values: Record<string, unknown>): Plan {
  const params = parseWorkflowParams(template, values);
  const body = template.build ? template.build(params) : template.plan;
  return Plan.parse({ ...structuredClone(body), params });
}

/** Parses parameter values; throws WorkflowParamsError naming every unknown or invalid parameter. */
export function parseWorkflowParams(template: WorkflowTemplate, values: Record<string, unknown>): Record<string, unknown> {
  const shape = template.params.shape as Record<string, z.ZodType>;
  const known = Object.keys(shape);
  const unknown = Object.keys(values).filter((k) => !Object.hasOwn(shape, k));
  if (unknown.length > 0) {
    const list = known.length > 0 ? `parameters: ${known.join(", ")}` : "it takes no parameters";
    throw new WorkflowParamsError(template.id, unknown.map((k) => `unknown parameter "${k}" (${list})`));
  }
  const parsed = template.params.safeParse(textWhereExpected(shape, values));
  if (!parsed.success) {
    throw new WorkflowParamsError(
      template.id,
      parsed.error.issues.map((i) => `parameter "${i.path.map(String).join(".") || "(all)"}": ${i.message}`),
    );
  }
  return parsed.data as Record<string, unknown>;
}

/** `--param name=123` arrives as a number: where the parameter is text, the text is taken. */
function textWhereExpected(shape: Record<string, z.ZodType>, values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => {
      const field = shape[key]!;
      const scalar = typeof value === "number" || typeof value === "boolean";
      return [key, scalar && !field.safeParse(value).success && field.safeParse(String(value)).success ? String(value) : value];
    }),
  );
}

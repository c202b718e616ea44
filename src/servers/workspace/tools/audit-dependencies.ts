import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { WorkspaceError } from "../errors.ts";
import { resolveProject } from "../paths.ts";
import { projectField, readOnly, type WorkspaceTool } from "../tool.ts";

const input = z.object({ project: projectField });

const SECTIONS = ["dependencies", "devDependencies", "optionalDependencies"] as const;
type Section = (typeof SECTIONS)[number];

type AuditIssue = "not-in-lockfile" | "wildcard-version" | "latest-tag" | "git-or-url" | "local-path";

interface AuditFinding {
  name: string;
  section: Section;
  spec: string;
  issue: AuditIssue;
  message: string;
}

const CHECKED = [
  "every dependency has an entry in package-lock.json",
  "no wildcard versions (*, x, empty)",
  "no 'latest' or other dist-tags",
  "no git, GitHub or URL specs",
  "no file: or link: paths",
];
const NOT_CHECKED = "known vulnerabilities: npm audit needs the registry, which is not queried (offline)";

/** What is wrong with a version spec, if anything (the lockfile check is separate). */
function specIssue(spec: string): Exclude<AuditIssue, "not-in-lockfile"> | undefined {
  const value = spec.trim();
  if (value === "" || value === "*" || /^[xX](\.[xX*])*$/.test(value)) return "wildcard-version";
  if (/^(git\+|git:|github:|gitlab:|bitbucket:|https?:)/.test(value) || /^[\w.-]+\/[\w.-]+(#.*)?$/.test(value)) return "git-or-url";
  if (/^(file:|link:|\.{0,2}\/)/.test(value)) return "local-path";
  if (/^[a-z][\w.-]*$/i.test(value) && !/^v?\d/.test(value)) return "latest-tag";
  return undefined;
}

const MESSAGES: Record<AuditIssue, (name: string, spec: string) => string> = {
  "not-in-lockfile": (name) => `${name} has no entry in package-lock.json`,
  "wildcard-version": (name, spec) => `${name}@"${spec}" accepts any version`,
  "latest-tag": (name, spec) => `${name}@"${spec}" follows a dist-tag, not a version range`,
  "git-or-url": (name, spec) => `${name}@"${spec}" is fetched from git or a URL, not the registry`,
  "local-path": (name, spec) => `${name}@"${spec}" points at a local path`,
};

async function readJson(file: string, field: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new WorkspaceError("INVALID_INPUT", `${field}: ${path.basename(file)} is not valid JSON (${(error as Error).message})`, field);
  }
}

function lockedNames(lock: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  const packages = lock.packages as Record<string, unknown> | undefined;
  for (const key of Object.keys(packages ?? {})) {
    if (key.startsWith("node_modules/") && !key.slice("node_modules/".length).includes("/node_modules/")) {
      names.add(key.slice("node_modules/".length));
    }
  }
  for (const name of Object.keys((lock.dependencies as Record<string, unknown> | undefined) ?? {})) names.add(name);
  return names;
}

export const auditDependencies: WorkspaceTool<typeof input> = {
  name: "audit_dependencies",
  description:
    "Audits a project's package.json against its package-lock.json offline: dependencies missing from the lockfile, " +
    "wildcard or dist-tag versions, git/URL specs, local paths. Known-vulnerability lookup (npm audit) is not done " +
    "(no registry access). Returns { checked, not_checked, dependency_count, lockfile, finding_count, findings: [{ name, section, spec, issue, message }] }.",
  input,
  annotations: readOnly,
  async run(args, context) {
    const projectDir = await resolveProject(context.root, args.project);
    const manifest = await readJson(path.join(projectDir, "package.json"), "project");
    if (manifest === undefined) {
      throw new WorkspaceError("NOT_FOUND", `project: "${args.project}" has no package.json`, "project");
    }
    const lock = await readJson(path.join(projectDir, "package-lock.json"), "project");
    const locked = lock === undefined ? undefined : lockedNames(lock);
    const findings: AuditFinding[] = [];
    let count = 0;
    for (const section of SECTIONS) {
      const deps = (manifest[section] as Record<string, unknown> | undefined) ?? {};
      for (const [name, rawSpec] of Object.entries(deps)) {
        count += 1;
        const spec = String(rawSpec);
        const issue = specIssue(spec);
        if (issue !== undefined) findings.push({ name, section, spec, issue, message: MESSAGES[issue](name, spec) });
        if (locked !== undefined && !locked.has(name)) {
          findings.push({ name, section, spec, issue: "not-in-lockfile", message: MESSAGES["not-in-lockfile"](name, spec) });
        }
      }
    }
    return {
      project: args.project,
      checked: lock === undefined ? CHECKED.slice(1) : CHECKED,
      not_checked: lock === undefined ? [NOT_CHECKED, "lockfile entries: the project has no package-lock.json"] : [NOT_CHECKED],
      dependency_count: count,
      lockfile: lock === undefined ? null : { file: "package-lock.json", lockfileVersion: lock.lockfileVersion ?? null },
      finding_count: findings.length,
      findings,
    };
  },
};

/*
 * Writes the contract fixtures in tests/fixtures/contracts from the providers' published OpenAPI
 * documents, for the operations the toolkit's cloud clients call. Run it again when a spec's
 * version changes, and review the diff:
 *
 *   npx tsx scripts/extract-contracts.ts neon <path to neon-api-python/v2.json> "<from>"
 *   npx tsx scripts/extract-contracts.ts upstash <path to upstash/docs devops/developer-api/openapi.yml> "<from>"
 *
 * `<from>` names where the document came from (repository, path, commit, date).
 * GitHub's description is read from @octokit/openapi at test time; Vercel's and Fly's fixtures
 * are written by hand from their generated SDKs (their published documents are not in a
 * repository this script can read; see the fixtures' `source`).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { extractOperations, type Contract, type Schema } from "../tests/helpers/contract.ts";

const OPERATIONS: Record<string, Array<{ method: string; path: string }>> = {
  neon: [
    { method: "GET", path: "/projects" },
    { method: "POST", path: "/projects" },
    { method: "DELETE", path: "/projects/{project_id}" },
    { method: "GET", path: "/projects/{project_id}/operations" },
    { method: "GET", path: "/projects/{project_id}/operations/{operation_id}" },
    { method: "GET", path: "/projects/{project_id}/connection_uri" },
    { method: "GET", path: "/projects/{project_id}/branches" },
    { method: "POST", path: "/projects/{project_id}/branches" },
    { method: "DELETE", path: "/projects/{project_id}/branches/{branch_id}" },
    { method: "GET", path: "/projects/{project_id}/branches/{branch_id}/databases" },
    { method: "POST", path: "/projects/{project_id}/branches/{branch_id}/databases" },
    { method: "DELETE", path: "/projects/{project_id}/branches/{branch_id}/databases/{database_name}" },
    { method: "GET", path: "/projects/{project_id}/branches/{branch_id}/roles" },
    { method: "GET", path: "/users/me/organizations" },
  ],
  upstash: [
    { method: "GET", path: "/redis/databases" },
    { method: "POST", path: "/redis/database" },
    { method: "GET", path: "/redis/database/{id}" },
    { method: "DELETE", path: "/redis/database/{id}" },
  ],
};

/**
 * Response fields a client needs that the description leaves out, but the provider returns in
 * practice (older docs, official tools): kept in the contract, marked `practice`, unverified.
 */
const PRACTICE: Record<string, { fields: string[]; note: string }> = {
  upstash: {
    fields: ["password", "rest_token", "read_only_rest_token"],
    note: "Database credentials: returned by create and get in practice and in older docs, absent from the current spec (unverified).",
  },
};

/** Adds the practice fields to every object schema that has `database_id` (Upstash's Database). */
function addPractice(schema: Schema | null | undefined, fields: string[]): void {
  if (!schema) return;
  if (schema.items) addPractice(schema.items, fields);
  if (schema.properties?.database_id) for (const field of fields) schema.properties[field] ??= { type: "string", practice: true };
}

const SPECS: Record<string, string> = {
  neon: "Neon API v2 (OpenAPI)",
  upstash: "Upstash Developer API (OpenAPI)",
};

async function main(): Promise<void> {
  const [provider, file, from] = process.argv.slice(2);
  if (!provider || !file || !from || !OPERATIONS[provider]) {
    throw new Error("usage: extract-contracts.ts <neon|upstash> <spec file> <from>");
  }
  const text = await readFile(file, "utf8");
  const doc = (file.endsWith(".json") ? JSON.parse(text) : parse(text)) as Record<string, unknown>;
  const info = doc.info as { version?: string } | undefined;
  const contract: Contract = {
    provider,
    source: { spec: SPECS[provider] ?? provider, version: String(info?.version ?? "unknown"), from },
    operations: extractOperations(doc, OPERATIONS[provider] ?? []),
  };
  const practice = PRACTICE[provider];
  if (practice) {
    contract.source.note = practice.note;
    for (const op of contract.operations) for (const schema of Object.values(op.responses)) addPractice(schema, practice.fields);
  }
  const out = path.join(import.meta.dirname, "..", "tests", "fixtures", "contracts", `${provider}.json`);
  await writeFile(out, `${JSON.stringify(contract, null, 1)}\n`);
  console.log(`${out}: ${contract.operations.length} operations from ${contract.source.spec} ${contract.source.version}`);
}

await main();

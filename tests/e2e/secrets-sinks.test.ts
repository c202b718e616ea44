import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type AppConfig } from "../../src/config.ts";
import type { RunState } from "../../graphs/state.ts";
import { openRoot } from "../../src/run/root.ts";
import { SecretStore } from "../../src/secrets.ts";
import { runCli, type CliResult } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";
import { undoRun } from "../helpers/pipeline.ts";
import { startLangSmithStub, type LangSmithStub } from "../helpers/langsmith-stub.ts";

const HANDLE = /secret:\/\/[0-9a-f]{32}/g;

/** Every file under a folder (the state dir: checkpoints, ledger, logs, registries). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    const stat = statSync(file);
    return stat.isDirectory() ? (name === "workspace" || name === "node_modules" ? [] : filesUnder(file)) : [file];
  });
}

/** Undoes what a successful run created, with the rollback calls its create tools returned. */
async function undoThread(threadId: string, config: AppConfig): Promise<void> {
  const root = await openRoot(config);
  try {
    const state = (await root.graph().getState({ configurable: { thread_id: threadId } })).values as RunState;
    const failures = await undoRun(state.report!, await root.context());
    expect(failures).toEqual([]);
  } finally {
    await root.close();
  }
}

describe("secrets never reach a sink: RAD Crawler on the local provider, traced to a LangSmith stand-in", () => {
  let langsmith: LangSmithStub;
  let home: string;
  let result: CliResult;
  let secrets: string[];
  let config: AppConfig;

  beforeAll(async () => {
    langsmith = await startLangSmithStub();
    const dir = tempDir();
    home = path.join(dir, ".co");
    result = await runCli(["run", "Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis", "--yes", "--json"], {
      CREDIT_OPTIMIZER_HOME: home,
      CREDIT_OPTIMIZER_WORKSPACE: path.join(dir, "ws"),
      LANGSMITH_TRACING: "true",
      LANGSMITH_ENDPOINT: langsmith.url,
      LANGSMITH_API_KEY: "lsv2_pt_test_key_for_the_stand_in",
      LANGSMITH_PROJECT: "secrets-sinks",
    });
    const store = await SecretStore.open(home);
    const checkpoints = readFileSync(path.join(home, "checkpoints.sqlite")).toString("latin1");
    const handles = [...new Set(checkpoints.match(HANDLE) ?? [])];
    secrets = handles.map((h) => store.reveal(h));
    await store.close();
    config = loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(dir, "ws"), PATH: process.env["PATH"] }, dir);
  }, 240_000);

  afterAll(async () => {
    await undoThread((JSON.parse(result.stdout) as { threadId: string }).threadId, config);
    await langsmith.close();
  });

  it("the run succeeded and its outputs held secrets (as handles)", () => {
    expect(result.code).toBe(0);
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    expect(secrets.some((s) => /^postgres(ql)?:\/\//.test(s))).toBe(true);
    expect(secrets.some((s) => s.startsWith("redis://"))).toBe(true);
  });

  it("no raw secret in the JSON report or the log output", () => {
    for (const secret of secrets) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
    }
  });

  it("no raw secret in the trace payloads", () => {
    expect(langsmith.payloads.length).toBeGreaterThan(0);
    const everything = langsmith.payloads.join("\n");
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it("no raw secret in any file of the state dir (checkpoints, ledger, secret store, pins, logs)", () => {
    const files = filesUnder(home);
    expect(files.some((f) => f.endsWith("checkpoints.sqlite"))).toBe(true);
    expect(files.some((f) => f.endsWith("ledger.sqlite"))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of secrets) {
        const password = URL.canParse(secret) ? new URL(secret).password : "";
        expect(bytes.includes(Buffer.from(secret)), `${file} holds a secret`).toBe(false);
        if (password) expect(bytes.includes(Buffer.from(decodeURIComponent(password))), `${file} holds a password`).toBe(false);
      }
    }
  });
});

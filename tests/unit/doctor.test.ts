import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { doctorCommand } from "../../src/cli/doctor.ts";
import { loadConfig } from "../../src/config.ts";
import { runDoctor, type DoctorReport } from "../../src/doctor/checks.ts";
import { renderDoctor } from "../../src/doctor/render.ts";
import { pinFilePath } from "../../src/mcp/pinning.ts";
import { freePort } from "../../src/servers/toolkit/providers/local/processes-launch.ts";

/* `doctor`: every row from what is there, nothing secret in what it prints. */

const temp: string[] = [];
const servers: http.Server[] = [];
afterAll(async () => {
  for (const server of servers) await new Promise((r) => server.close(r));
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function dir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), "co-doctor-"));
  temp.push(d);
  return d;
}


/** An OpenAI-compatible `GET /v1/models` stand-in answering `status`; records the authorization headers. */
async function modelsStandIn(status = 200): Promise<{ baseUrl: string; auth: string[] }> {
  const auth: string[] = [];
  const server = http.createServer((req, res) => {
    auth.push(String(req.headers.authorization));
    if (req.url !== "/v1/models") return void res.writeHead(404).end();
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(status === 200 ? { data: [{ id: "test-model" }, { id: "other" }] } : { error: {} }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`, auth };
}

const row = (report: DoctorReport, check: string) => report.rows.find((r) => r.check === check);

const SECRETS = {
  OPENAI_API_KEY: "sk-doctor-secret-0001",
  LANGSMITH_API_KEY: "ls-doctor-secret-0002",
  NEON_API_KEY: "neon-doctor-secret-0003",
  GITHUB_TOKEN: "ghp-doctor-secret-0004",
  redis: "redis-doctor-secret-0005",
};

describe("doctor", () => {
  it("reports the model, LangSmith, tokens and services by name, and prints no secret in text or JSON", async () => {
    const home = dir();
    const models = await modelsStandIn();
    const env = {
      CREDIT_OPTIMIZER_HOME: home,
      PATH: process.env.PATH,
      OPENAI_API_KEY: SECRETS.OPENAI_API_KEY,
      OPENAI_BASE_URL: models.baseUrl,
      CREDIT_OPTIMIZER_MODEL: "test-model",
      LANGSMITH_TRACING: "true",
      LANGSMITH_API_KEY: SECRETS.LANGSMITH_API_KEY,
      LANGSMITH_PROJECT: "doc-project",
      NEON_API_KEY: SECRETS.NEON_API_KEY,
      GITHUB_TOKEN: SECRETS.GITHUB_TOKEN,
      LOCAL_REDIS_URL: `redis://:${SECRETS.redis}@127.0.0.1:${await freePort()}`,
    };
    writeFileSync(path.join(home, "ledger.sqlite"), Buffer.alloc(2048));
    const out: string[] = [];
    const json: string[] = [];
    const config = loadConfig(env, home);
    expect(await doctorCommand({}, config, { out: (t) => out.push(t), err: () => {} })).toBe(1);
    expect(await doctorCommand({ json: true }, config, { out: (t) => json.push(t), err: () => {} })).toBe(1);
    const report = JSON.parse(json.join("")) as DoctorReport;

    expect(models.auth).toContain(`Bearer ${SECRETS.OPENAI_API_KEY}`);
    expect(row(report, "model")).toEqual({ check: "model", status: "ok", value: `test-model at ${models.baseUrl}: reachable, model listed` });
    expect(row(report, "langsmith")).toMatchObject({ status: "ok", value: expect.stringMatching(/^configured: LANGSMITH_API_KEY is set \(project doc-project, /) });
    expect(row(report, "providers")).toMatchObject({ status: "ok", value: "set: NEON_API_KEY, GITHUB_TOKEN; local provider for: upstash, vercel, fly" });
    expect(row(report, "postgres")).toMatchObject({ status: "ok", value: "cloud: Neon API (NEON_API_KEY is set)" });
    expect(row(report, "redis")).toMatchObject({ status: "fail", value: expect.stringMatching(/^none: no Redis answers at redis:\/\/:\[redacted\]@127\.0\.0\.1:\d+ \(LOCAL_REDIS_URL\)$/) });
    expect(row(report, "redis")?.fix).toContain("unset LOCAL_REDIS_URL");
    expect(row(report, "state")).toEqual({ check: "state", status: "ok", value: `${home}: 2.0 KB` });
    expect(row(report, "node")?.value).toContain(process.version);
    for (const text of [out.join("\n"), json.join("\n")]) {
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    }
    expect(out.join("\n")).toMatch(/^XX {2}redis +none: no Redis answers/m);
  });

  it("says when the endpoint refuses the key, does not list the model, or does not answer", async () => {
    const home = dir();
    const refusing = await modelsStandIn(401);
    const refused = await runDoctor(loadConfig({ CREDIT_OPTIMIZER_HOME: home, OPENAI_API_KEY: "k", OPENAI_BASE_URL: refusing.baseUrl }, home));
    expect(row(refused, "model")).toMatchObject({ status: "fail", value: expect.stringContaining("refused the key (HTTP 401)"), fix: "check OPENAI_API_KEY" });
    const listing = await modelsStandIn();
    const unlisted = await runDoctor(loadConfig({ CREDIT_OPTIMIZER_HOME: home, OPENAI_BASE_URL: listing.baseUrl, CREDIT_OPTIMIZER_MODEL: "absent" }, home));
    expect(row(unlisted, "model")).toMatchObject({ status: "warn", value: expect.stringContaining("does not list absent") });
    const down = await runDoctor(loadConfig({ CREDIT_OPTIMIZER_HOME: home, OPENAI_BASE_URL: `http://127.0.0.1:${await freePort()}/v1` }, home));
    expect(row(down, "model")).toMatchObject({ status: "fail", value: expect.stringContaining("not reachable") });
    const none = await runDoctor(loadConfig({ CREDIT_OPTIMIZER_HOME: home }, home));
    expect(row(none, "model")).toMatchObject({ status: "info", value: expect.stringContaining("offline catalog planner") });
  });

  it("reports each MCP server as pinned, changed since its pin, not pinned yet, or unreachable", async () => {
    const home = dir();
    const file = path.join(home, "mcp.json");
    const port = await freePort();
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          same: { command: process.execPath, args: ["server.js"] },
          moved: { command: process.execPath, args: ["new.js"] },
          fresh: { command: process.execPath, args: ["x.js"] },
          gone: { url: `http://127.0.0.1:${port}/mcp` },
          missing: { command: "no-such-mcp-server-binary" },
        },
      }),
    );
    const pin = (command: string) => ({ command, pinnedAt: "2026-11-30T10:00:00.000Z", tools: { a: { descriptionHash: "d", schemaHash: "s", description: "a" } } });
    writeFileSync(pinFilePath(home), JSON.stringify({ servers: { same: pin(`${process.execPath} server.js`), moved: pin(`${process.execPath} old.js`) } }));
    const report = await runDoctor(loadConfig({ CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_MCP_CONFIG: file, PATH: process.env.PATH }, home));
    expect(Object.fromEntries(report.rows.filter((r) => r.check.startsWith("mcp ")).map((r) => [r.check, [r.status, r.value]]))).toEqual({
      "mcp same": ["ok", "stdio node: pinned 2026-11-30, 1 tool"],
      "mcp moved": ["warn", "stdio node: changed since it was pinned (another command)"],
      "mcp fresh": ["info", "stdio node: not pinned yet (pinned on the first run)"],
      "mcp gone": ["fail", `http://127.0.0.1:${port}/mcp: unreachable`],
      "mcp missing": ["fail", "stdio no-such-mcp-server-binary: unreachable"],
    });
    expect(renderDoctor(report)).toContain("fix: check it, then: credit-optimizer mcp trust moved");
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { formatSmoke, parseSmokeArgs, smoke } from "../../src/servers/toolkit/smoke.ts";
import type { ToolkitEnv } from "../../src/servers/toolkit/tool.ts";
import { startFlyFake } from "../fixtures/fakes/fly.ts";
import { startGitHubFake } from "../fixtures/fakes/github.ts";
import type { FakeHttp } from "../fixtures/fakes/http-fake.ts";
import { startNeonFake } from "../fixtures/fakes/neon.ts";
import { startUpstashFake } from "../fixtures/fakes/upstash.ts";
import { startVercelFake } from "../fixtures/fakes/vercel.ts";

/* The live smoke test's logic, run against the fakes (the live run itself needs real tokens). */

const base: ToolkitEnv = { dataDir: "/nonexistent/toolkit-smoke", localPostgresUrl: "postgres://127.0.0.1:1/none", localRedisUrl: "redis://127.0.0.1:1" };
const retry = { baseDelayMs: 2, maxDelayMs: 5 };
const fakes: FakeHttp[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.close();
});

describe("smoke", () => {
  it("is skipped with the variable to set when there is no token, and touches nothing local", async () => {
    const result = await smoke("neon", base);
    expect(result).toEqual({ provider: "neon", status: "skipped", steps: ["skipped: set NEON_API_KEY to check this account"] });
    expect(formatSmoke(await smoke("upstash", base))).toBe("upstash: skipped\n  - skipped: set UPSTASH_EMAIL and UPSTASH_API_KEY to check this account");
  });

  it("creates, reads and deletes one resource on each provider, leaving nothing behind", async () => {
    const neon = await startNeonFake({ token: "nk-123456", pollsToFinish: 1 });
    const upstash = await startUpstashFake({ email: "a@b.c", apiKey: "uk-123456" });
    const vercel = await startVercelFake({ token: "vk-123456" });
    const fly = await startFlyFake({ token: "fk-123456" });
    const github = await startGitHubFake({ token: "gk-123456", login: "octo" });
    fakes.push(neon, upstash, vercel, fly, github);
    const env: ToolkitEnv = {
      ...base,
      neon: { apiKey: "nk-123456", baseUrl: neon.url, retry, pollIntervalMs: 1 },
      upstash: { email: "a@b.c", apiKey: "uk-123456", baseUrl: upstash.url, retry },
      vercel: { token: "vk-123456", baseUrl: vercel.url, retry },
      fly: { token: "fk-123456", baseUrl: fly.url, orgSlug: "personal", retry },
      github: { token: "gk-123456", baseUrl: github.url, retry },
    };
    for (const provider of parseSmokeArgs(["--provider", "all"])) {
      const result = await smoke(provider, env, "abc123");
      expect(result.status, formatSmoke(result)).toBe("passed");
      expect(result.steps.at(-1)).toBe("deleted it again");
    }
    expect(neon.projects.size + upstash.databases.size + vercel.projects.size + fly.apps.size + github.repos.size).toBe(0);
    expect(github.requests.find((r) => r.method === "POST")?.body).toMatchObject({ name: "co-smoke-abc123", private: true });
  });

  it("names what it left behind when the delete fails, without the token", async () => {
    const neon = await startNeonFake({ token: "nk-secret-123456", pollsToFinish: 0 });
    fakes.push(neon);
    neon.inject({ method: "DELETE", path: /^\/projects\/[^/]+$/, times: 10, reply: { status: 403, body: { message: "not allowed for nk-secret-123456" } } });
    const result = await smoke("neon", { ...base, neon: { apiKey: "nk-secret-123456", baseUrl: neon.url, retry } }, "left1");
    expect(result.status).toBe("failed");
    expect(result.leftover).toMatch(/^Neon project proj-[0-9a-f]+ \(co-smoke-left1\): delete failed: neon: HTTP 403/);
    expect(formatSmoke(result)).toContain("LEFT BEHIND, remove it by hand");
    expect(formatSmoke(result)).not.toContain("nk-secret-123456");
  });

  it("rejects unknown providers and a missing --provider by name", () => {
    expect(() => parseSmokeArgs([])).toThrow("--provider is required");
    expect(() => parseSmokeArgs(["--provider", "aws"])).toThrow('--provider: expected one of neon, upstash, vercel, fly, github or all, got "aws"');
    expect(parseSmokeArgs(["--provider=fly", "--provider", "fly"])).toEqual(["fly"]);
  });
});

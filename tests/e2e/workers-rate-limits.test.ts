import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pauseKey, RedisServerLimits, ServerLimits } from "../../src/engine/limits.ts";
import { runStep, type RunContext } from "../../src/engine/run-step.ts";
import { McpRuntime } from "../../src/mcp/client.ts";
import { builtinServer } from "../../src/mcp/config.ts";
import type { Scope } from "../../src/plan/interpolate.ts";
import type { Step } from "../../src/plan/schema.ts";
import { waitFor } from "../helpers/cli.ts";

/**
 * Two "workers" (each its own MCP runtime with its own toolkit process, and its own limiter on the
 * real Redis) against one stand-in for the Neon and Vercel APIs. Neon answers the first call with
 * 429 and retry-after: the other worker's Neon calls wait it out; its Vercel calls do not.
 */

interface Seen {
  provider: "neon" | "vercel";
  at: number;
  status: number;
}

const RETRY_AFTER_S = 3;
const SCOPE: Scope = { steps: {}, params: {} };
let api: Server;
let apiUrl = "";
const seen: Seen[] = [];
let neonLimitedOnce = false;
let onLimited: () => void = () => {};
const limitedSent = new Promise<void>((resolve) => (onLimited = resolve));
const redisConnections: Redis[] = [];
const runtimes: McpRuntime[] = [];

function answer(res: import("node:http").ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  api = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/neon/projects") {
      if (!neonLimitedOnce) {
        neonLimitedOnce = true;
        seen.push({ provider: "neon", at: Date.now(), status: 429 });
        answer(res, 429, { message: "Too many requests" }, { "retry-after": String(RETRY_AFTER_S) });
        onLimited();
        return;
      }
      seen.push({ provider: "neon", at: Date.now(), status: 200 });
      return answer(res, 200, { projects: [{ id: "p-1", name: "one" }] });
    }
    if (url.pathname === "/vercel/v10/projects") {
      seen.push({ provider: "vercel", at: Date.now(), status: 200 });
      return answer(res, 200, { projects: [{ id: "prj_1", name: "one" }] });
    }
    answer(res, 404, { message: `no route ${url.pathname}` });
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.close()));
  for (const r of redisConnections) r.disconnect();
  await new Promise((resolve) => api.close(resolve));
});

async function worker(prefix: string): Promise<RunContext> {
  const env = {
    NEON_API_KEY: "neon-test-key",
    NEON_API_URL: `${apiUrl}/neon`,
    NEON_ORG_ID: "org-test",
    VERCEL_TOKEN: "vercel-test-token",
    VERCEL_API_URL: `${apiUrl}/vercel`,
    CREDIT_OPTIMIZER_HOME: `/tmp/co-rate-limits-${randomUUID()}`,
  };
  const runtime = await McpRuntime.connect({ mcpServers: { toolkit: builtinServer("toolkit", env) } });
  runtimes.push(runtime);
  const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: null });
  redisConnections.push(redis);
  return { caller: runtime, limits: new RedisServerLimits(redis, { prefix }), defaultRetry: { maxAttempts: 1 } };
}

function step(id: string, tool: string, params: Record<string, unknown> = {}): Step {
  return { id, tool, dependencies: [], params } as Step;
}

describe("a provider's 429 slows every worker's calls for that provider, and only those", () => {
  it("worker B's Neon calls wait out the retry-after worker A got; its Vercel calls go at once; A's call is made again after the pause", async () => {
    const prefix = `credit-optimizer:rate-${randomUUID()}`;
    const [a, b] = await Promise.all([worker(prefix), worker(prefix)]);
    // The toolkit says which provider each tool reaches (toolkit_call: its `category` argument).
    expect(a.caller.tools.find((t) => t.name === "neon_list_projects")?.meta?.["credit-optimizer/provider"]).toBe("neon");

    const first = runStep(step("a-neon", "toolkit.neon_list_projects"), { server: "toolkit", tool: "neon_list_projects" }, SCOPE, a);
    await limitedSent;
    const limitedAt = seen[0]!.at;
    // B starts once A's limiter has recorded Neon's pause in Redis (the 429 travels back through A's toolkit first).
    await waitFor(async () => (await redisConnections[0]!.pttl(pauseKey(prefix, "toolkit", "neon"))) > 0, 10_000, "A's limiter to record Neon's pause in Redis");
    const [resultA, neonB, brokerNeonB, vercelB] = await Promise.all([
      first,
      runStep(step("b-neon", "toolkit.neon_list_projects"), { server: "toolkit", tool: "neon_list_projects" }, SCOPE, b),
      runStep(step("b-broker", "toolkit.toolkit_call", { category: "neon", tool_name: "neon_list_projects", arguments: {} }), { server: "toolkit", tool: "toolkit_call" }, SCOPE, b),
      runStep(step("b-vercel", "toolkit.vercel_list_projects"), { server: "toolkit", tool: "vercel_list_projects" }, SCOPE, b),
    ]);

    for (const r of [resultA, neonB, brokerNeonB, vercelB]) expect(r.status, JSON.stringify(r.error)).toBe("succeeded");
    // A's call was refused once, handed back, and made again after the pause: one step attempt.
    expect(resultA.attempts).toBe(1);
    expect(resultA.output).toMatchObject({ projects: [{ name: "one" }] });

    const neon = seen.filter((s) => s.provider === "neon");
    const vercel = seen.filter((s) => s.provider === "vercel");
    // One 429, then A's call again and B's two Neon calls: none of B's met the 429 itself.
    expect(neon.map((s) => s.status)).toEqual([429, 200, 200, 200]);
    for (const s of neon.slice(1)) expect(s.at - limitedAt).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 100);
    // Vercel is another account: its call did not wait for Neon's pause.
    expect(vercel).toHaveLength(1);
    expect(vercel[0]!.at - limitedAt).toBeLessThan(RETRY_AFTER_S * 1000 - 500);
  });

  it("a run in one process leaves the wait to the toolkit (its own retry-after), as before", async () => {
    neonLimitedOnce = false;
    seen.length = 0;
    const [ctx] = await Promise.all([worker("unused")]);
    const local: RunContext = { ...ctx!, limits: new ServerLimits() };
    const result = await runStep(step("local-neon", "toolkit.neon_list_projects"), { server: "toolkit", tool: "neon_list_projects" }, SCOPE, local);
    expect(result.status).toBe("succeeded");
    expect(result.attempts).toBe(1);
    expect(seen.map((s) => s.status)).toEqual([429, 200]);
    // The toolkit slept the retry-after inside the one call.
    const span = result.attemptSpans?.[0];
    expect((span?.endedAtMs ?? 0) - (span?.startedAtMs ?? 0)).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 100);
  });
});

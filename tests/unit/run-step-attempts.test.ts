import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ServerLimits } from "../../src/engine/limits.ts";
import { runStep } from "../../src/engine/run-step.ts";
import { ToolCallError } from "../../src/mcp/client.ts";
import { SecretStore } from "../../src/secrets.ts";
import { FakeCaller, sleep } from "../helpers/fake-caller.ts";

const resolved = { server: "infra", tool: "flaky" };
const step = { id: "s", tool: "infra.flaky", dependencies: [], params: {}, retry: { maxAttempts: 3, backoffMs: 40 } };

describe("a step's attempts are recorded one by one", () => {
  it("each try has its own start, end and error; the backoff lies between them", async () => {
    const caller = new FakeCaller().add("infra", "flaky", async (_args, n) => {
      await sleep(15);
      if (n < 3) throw new ToolCallError("TOOL_ERROR", `503 on call ${n}`, true);
      return { ok: true };
    });
    const slept: number[] = [];
    const recordSleep = async (ms: number) => {
      slept.push(ms);
      await sleep(ms);
    };
    const result = await runStep(step, resolved as never, { steps: {}, params: {} }, { caller, limits: new ServerLimits(4), random: () => 0.5, sleep: recordSleep });
    expect(result.status).toBe("succeeded");
    // Backoff 40 ms doubling per try, at 0.75 of its ceiling with random() = 0.5.
    expect(slept).toEqual([30, 60]);
    expect(result.attempts).toBe(3);
    const spans = result.attemptSpans!;
    expect(spans).toHaveLength(3);
    expect(spans.map((s) => s.error?.code)).toEqual(["TOOL_ERROR", "TOOL_ERROR", undefined]);
    expect(spans[0]!.error!.message).toContain("call 1");
    // Each span encloses the call the caller saw, in order, inside the step's own bounds.
    spans.forEach((s, i) => {
      expect(s.startedAtMs).toBeLessThanOrEqual(caller.calls[i]!.startedAt);
      expect(s.endedAtMs).toBeGreaterThanOrEqual(caller.calls[i]!.endedAt!);
      // Date.now() counts whole milliseconds, so a timer of n ms can read as n - 1.
      if (i > 0) expect(s.startedAtMs).toBeGreaterThanOrEqual(spans[i - 1]!.endedAtMs + slept[i - 1]! - 1);
    });
    expect(spans[0]!.startedAtMs).toBeGreaterThanOrEqual(result.startedAtMs);
    expect(spans[2]!.endedAtMs).toBeLessThanOrEqual(result.endedAtMs);
  });

  it("a step that never called its tool has no spans", async () => {
    const caller = new FakeCaller().add("infra", "flaky", () => ({ ok: true }));
    const result = await runStep({ ...step, params: { x: "${missing.field}" } }, resolved as never, { steps: {}, params: {} }, { caller, limits: new ServerLimits(4) });
    expect(result.status).toBe("failed");
    expect(result.attemptSpans).toBeUndefined();
    expect(caller.calls).toHaveLength(0);
  });
});

describe("a secret handle the store cannot open", () => {
  const handleStep = (handle: string) => ({ ...step, params: { url: handle } });

  it("fails the step (no call) instead of throwing out of the run; the message names the step and the handle", async () => {
    const caller = new FakeCaller().add("infra", "flaky", () => ({ ok: true }));
    const secrets = new SecretStore(":memory:", Buffer.alloc(32, 3));
    const handle = `secret://${"0".repeat(32)}`;
    const result = await runStep(handleStep(handle), resolved as never, { steps: {}, params: {} }, { caller, limits: new ServerLimits(4), secrets });
    expect(result.status).toBe("failed");
    expect(result.error).toMatchObject({ code: "SECRET_UNAVAILABLE", retryable: false });
    expect(result.error!.message).toContain(`step "s"`);
    expect(result.error!.message).toContain(handle);
    expect(caller.calls).toHaveLength(0);
  });

  it("a handle stored with another key fails the same way and names the key to set, never the secret", async () => {
    const caller = new FakeCaller().add("infra", "flaky", () => ({ ok: true }));
    const file = path.join(mkdtempSync(path.join(tmpdir(), "co-secret-")), "secrets.sqlite");
    const writer = new SecretStore(file, Buffer.alloc(32, 4));
    const stored = await writer.protect({ password: "hunter2-very-secret" });
    await writer.close();
    const reader = new SecretStore(file, Buffer.alloc(32, 5));
    const result = await runStep(handleStep(stored.password), resolved as never, { steps: {}, params: {} }, { caller, limits: new ServerLimits(4), secrets: reader });
    await reader.close();
    expect(result.status).toBe("failed");
    expect(result.error!.code).toBe("SECRET_UNAVAILABLE");
    expect(result.error!.message).toContain("CREDIT_OPTIMIZER_SECRET_KEY");
    expect(result.error!.message).not.toContain("hunter2");
    expect(caller.calls).toHaveLength(0);
  });
});

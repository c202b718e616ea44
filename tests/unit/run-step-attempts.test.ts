import { describe, expect, it } from "vitest";
import { ServerLimits } from "../../src/engine/limits.ts";
import { runStep } from "../../src/engine/run-step.ts";
import { ToolCallError } from "../../src/mcp/client.ts";
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
    const result = await runStep(step, resolved as never, { steps: {}, params: {} }, { caller, limits: new ServerLimits(4), random: () => 0.5 });
    expect(result.status).toBe("succeeded");
    expect(result.attempts).toBe(3);
    const spans = result.attemptSpans!;
    expect(spans).toHaveLength(3);
    expect(spans.map((s) => s.error?.code)).toEqual(["TOOL_ERROR", "TOOL_ERROR", undefined]);
    expect(spans[0]!.error!.message).toContain("call 1");
    // Each span encloses the call the caller saw, in order, inside the step's own bounds.
    spans.forEach((s, i) => {
      expect(s.startedAtMs).toBeLessThanOrEqual(caller.calls[i]!.startedAt);
      expect(s.endedAtMs).toBeGreaterThanOrEqual(caller.calls[i]!.endedAt!);
      if (i > 0) expect(s.startedAtMs).toBeGreaterThanOrEqual(spans[i - 1]!.endedAtMs + 30);
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

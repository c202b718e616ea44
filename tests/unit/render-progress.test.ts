import { describe, expect, it } from "vitest";
import { renderEvent } from "../../src/cli/render.ts";

describe("a step's progress in the live output", () => {
  it("as a percentage with the message, or the bare count when the server gives no total", () => {
    expect(renderEvent({ type: "step_progress", id: "slow", progress: 2, total: 5, message: "copying" })).toBe("  … slow 40% — copying");
    expect(renderEvent({ type: "step_progress", id: "slow", progress: 7 })).toBe("  … slow progress 7");
  });
});

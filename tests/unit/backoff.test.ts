import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/backoff.ts";

describe("backoffDelay", () => {
  it("doubles per attempt within the upper half of its ceiling, and stops at the cap", () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 0.999999)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(200);
    expect(backoffDelay(20, 100, 10_000, () => 0.999999)).toBe(10_000);
    expect(backoffDelay(20, 100, 10_000, () => 0)).toBe(5_000);
  });
});

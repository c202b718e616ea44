import { describe, expect, it } from "vitest";
import { RunInterruptedError } from "../../src/run/drive.ts";

describe("a run stopped by the runtime says why", () => {
  it("names each distinct error of a superstep LangGraph wrapped in one AggregateError, masked", () => {
    const inner = new AggregateError(
      [new Error("connect ECONNREFUSED 127.0.0.1:5432"), new Error("connect ECONNREFUSED 127.0.0.1:5432"), new Error("auth failed for postgres://app:s3cr3t-pass@db:5432/x")],
      "Multiple errors occurred during superstep 3. See the \"errors\" field of this exception for more details.",
    );
    const error = new RunInterruptedError("run-1", "postgres://app:***@db:5432/x", inner);
    expect(error.message).toContain("ECONNREFUSED 127.0.0.1:5432; auth failed");
    expect(error.message.match(/ECONNREFUSED/g)).toHaveLength(1);
    expect(error.message).not.toContain("Multiple errors");
    expect(error.message).not.toContain("s3cr3t-pass");
    expect(error.message).toContain("credit-optimizer resume run-1");
    expect(error.cause).toBe(inner);
  });

  it("keeps a plain error's message, and shortens a long list", () => {
    expect(new RunInterruptedError("t", "sqlite:x", new Error("disk full")).message).toContain("stopped: disk full (checkpointer sqlite:x)");
    const many = new AggregateError(["a", "b", "c", "d", "e"].map((m) => new Error(`err ${m}`)));
    expect(new RunInterruptedError("t", "sqlite:x", many).message).toContain("err a; err b; err c; and 2 more");
  });
});

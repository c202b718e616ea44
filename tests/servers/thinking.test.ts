import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { callError, callOk, connectThinking, thought, type HarnessOptions, type ThinkingHarness } from "../helpers/thinking.ts";

const open: ThinkingHarness[] = [];

async function harness(options: HarnessOptions = {}): Promise<ThinkingHarness> {
  const h = await connectThinking(options);
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

describe("thinking server: tools", () => {
  it("lists the six tools with input schemas and annotations", async () => {
    const { client } = await harness();
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual([
      "parallel_thinking",
      "reflective_thinking",
      "sequential_thinking",
      "thinking_session_get",
      "thinking_session_list",
      "thinking_session_reset",
    ]);
    const sequential = byName.get("sequential_thinking");
    expect(sequential?.inputSchema.required?.sort()).toEqual(["nextThoughtNeeded", "thought", "thoughtNumber", "totalThoughts"]);
    expect(Object.keys(sequential?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(["isRevision", "revisesThought", "branchFromThought", "branchId", "needsMoreThoughts", "sessionId"]),
    );
    expect(byName.get("thinking_session_reset")?.annotations?.destructiveHint).toBe(true);
    expect(byName.get("thinking_session_get")?.annotations?.readOnlyHint).toBe(true);
  });

  it("records thoughts, grows totalThoughts, and reports the history length", async () => {
    const { client } = await harness();
    const first = await callOk(client, "sequential_thinking", thought("frame the problem", 1, 2, { sessionId: "s" }));
    expect(first).toEqual({ sessionId: "s", thoughtNumber: 1, totalThoughts: 2, nextThoughtNeeded: true, branches: [], thoughtHistoryLength: 1 });
    await callOk(client, "sequential_thinking", thought("second", 2, 2, { sessionId: "s", nextThoughtNeeded: true, needsMoreThoughts: true }));
    const third = await callOk(client, "sequential_thinking", thought("past the estimate", 3, 2, { sessionId: "s" }));
    expect(third).toMatchObject({ thoughtNumber: 3, totalThoughts: 3, thoughtHistoryLength: 3 });
  });

  it("records revisions and branches the way the reference server does", async () => {
    const { client } = await harness();
    const s = { sessionId: "s" };
    await callOk(client, "sequential_thinking", thought("use postgres", 1, 3, s));
    await callOk(client, "sequential_thinking", thought("postgres is overkill", 2, 3, { ...s, isRevision: true, revisesThought: 1 }));
    const branched = await callOk(client, "sequential_thinking", thought("try sqlite", 3, 4, { ...s, branchFromThought: 1, branchId: "sqlite" }));
    expect(branched.branches).toEqual(["sqlite"]);
    // Without branchFromThought a branchId is not a branch (as in the reference server).
    const loose = await callOk(client, "sequential_thinking", thought("loose", 4, 4, { ...s, branchId: "ignored" }));
    expect(loose.branches).toEqual(["sqlite"]);
    const other = await callOk(client, "sequential_thinking", thought("try redis", 3, 4, { ...s, branchFromThought: 1, branchId: "redis" }));
    expect(other).toMatchObject({ branches: ["sqlite", "redis"], thoughtHistoryLength: 5 });

    const session = await callOk(client, "thinking_session_get", s);
    const thoughts = session.thoughts as Array<Record<string, unknown>>;
    expect(thoughts.map((t) => t.thought)).toEqual(["use postgres", "postgres is overkill", "try sqlite", "loose", "try redis"]);
    expect(thoughts[1]).toMatchObject({ isRevision: true, revisesThought: 1 });
    expect(session.branches).toEqual({ sqlite: [3], redis: [3] });
  });

  it("resolves the session from the argument, else AGENT_ID, else default", async () => {
    const agent = await harness({ agentId: "db-agent" });
    expect(await callOk(agent.client, "sequential_thinking", thought("a", 1, 1))).toMatchObject({ sessionId: "db-agent" });
    expect(await callOk(agent.client, "sequential_thinking", thought("b", 1, 1, { sessionId: "explicit" }))).toMatchObject({
      sessionId: "explicit",
    });
    const plain = await harness();
    expect(await callOk(plain.client, "sequential_thinking", thought("c", 1, 1))).toMatchObject({ sessionId: "default" });
  });

  it("compares parallel branches and records the exploration in the session", async () => {
    const { client } = await harness({ agentId: "coding" });
    const result = await callOk(client, "parallel_thinking", {
      question: "Which queue?",
      branches: [
        { branchId: "bullmq", thought: "Redis-backed", confidence: 0.6, pros: ["mature"], cons: [] },
        { branchId: "pg-boss", thought: "Postgres-backed", confidence: 0.8, pros: ["one less service"], cons: ["polling"] },
        { branchId: "sqs", thought: "managed", confidence: 0.6, pros: ["managed", "cheap"], cons: [] },
      ],
    });
    expect(result).toMatchObject({ sessionId: "coding", explorationNumber: 1, recommendedBranchId: "pg-boss", tie: false });
    expect((result.comparison as Array<{ branchId: string }>).map((b) => b.branchId)).toEqual(["pg-boss", "sqs", "bullmq"]);

    const tied = await callOk(client, "parallel_thinking", {
      question: "Tabs or spaces?",
      branches: [
        { branchId: "tabs", thought: "tabs" },
        { branchId: "spaces", thought: "spaces" },
      ],
    });
    expect(tied).toMatchObject({ explorationNumber: 2, recommendedBranchId: "tabs", tie: true });
    const session = await callOk(client, "thinking_session_get", {});
    expect((session.explorations as Array<{ question: string }>).map((e) => e.question)).toEqual(["Which queue?", "Tabs or spaces?"]);
  });

  it("critiques an existing thought and points at the revision to make", async () => {
    const { client } = await harness();
    const s = { sessionId: "r" };
    await callOk(client, "sequential_thinking", thought("deploy first, migrate later", 1, 2, s));
    const reflection = await callOk(client, "reflective_thinking", {
      ...s,
      thoughtNumber: 1,
      critique: "the app starts against an empty schema",
      issues: ["ordering"],
      confidence: 0.2,
      suggestedRevision: "migrate, then deploy",
    });
    expect(reflection).toMatchObject({
      sessionId: "r",
      reflectionNumber: 1,
      thoughtNumber: 1,
      reflectedThought: "deploy first, migrate later",
      issueCount: 1,
      revisionSuggested: true,
      nextStep: "call sequential_thinking with isRevision: true and revisesThought: 1",
    });
    const missing = await callError(client, "reflective_thinking", { ...s, thoughtNumber: 7, critique: "x" });
    expect(missing).toMatch(/THOUGHT_NOT_FOUND: thoughtNumber: .*no thought 7/);
  });

  it("gets, lists and resets sessions", async () => {
    const { client } = await harness();
    await callOk(client, "sequential_thinking", thought("a1", 1, 1, { sessionId: "a" }));
    await callOk(client, "sequential_thinking", thought("b1", 1, 2, { sessionId: "b" }));
    await callOk(client, "sequential_thinking", thought("b2", 2, 2, { sessionId: "b" }));
    const list = await callOk(client, "thinking_session_list", {});
    const sessions = list.sessions as Array<{ sessionId: string; thoughtCount: number }>;
    expect(sessions.map((s) => [s.sessionId, s.thoughtCount]).sort()).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect((await callOk(client, "thinking_session_list", { limit: 1 })).sessions).toHaveLength(1);

    expect(await callOk(client, "thinking_session_reset", { sessionId: "b" })).toEqual({ sessionId: "b", existed: true, recordsRemoved: 2 });
    expect(await callOk(client, "thinking_session_reset", { sessionId: "b" })).toEqual({ sessionId: "b", existed: false, recordsRemoved: 0 });
    expect(await callError(client, "thinking_session_get", { sessionId: "b" })).toMatch(/SESSION_NOT_FOUND: sessionId: no session "b"/);
    const restarted = await callOk(client, "sequential_thinking", thought("fresh", 1, 1, { sessionId: "b" }));
    expect(restarted.thoughtHistoryLength).toBe(1);
  });
});

describe("thinking server: limits and bad inputs", () => {
  it("refuses a thought past the per-session limit, without touching other sessions", async () => {
    const { client } = await harness({ maxThoughts: 2 });
    await callOk(client, "sequential_thinking", thought("1", 1, 3, { sessionId: "full" }));
    await callOk(client, "reflective_thinking", { sessionId: "full", thoughtNumber: 1, critique: "hm" });
    const error = await callError(client, "sequential_thinking", thought("3", 2, 3, { sessionId: "full" }));
    expect(error).toMatch(/THOUGHT_LIMIT: session "full" already holds 2 records/);
    await callOk(client, "sequential_thinking", thought("other", 1, 1, { sessionId: "other" }));
    expect((await callOk(client, "thinking_session_get", { sessionId: "full" })).thoughts).toHaveLength(1);
  });

  it("refuses text longer than the limit, naming the field", async () => {
    const { client } = await harness({ maxThoughtLength: 10 });
    expect(await callError(client, "sequential_thinking", thought("x".repeat(11), 1, 1))).toMatch(
      /THOUGHT_TOO_LONG: thought is 11 characters long; the limit is 10/,
    );
    const branches = [
      { branchId: "a", thought: "short" },
      { branchId: "b", thought: "much too long" },
    ];
    expect(await callError(client, "parallel_thinking", { question: "q", branches })).toMatch(/branches\[1\]\.thought is 13 characters/);
    expect((await callOk(client, "thinking_session_list", {})).sessions).toEqual([]);
  });

  it.each([
    ["thoughtNumber", thought("t", 1, 1, { thoughtNumber: "three" }), /expected number, received string at thoughtNumber$/],
    ["thoughtNumber", thought("t", 1, 1, { thoughtNumber: 0 }), /at thoughtNumber$/],
    ["thoughtNumber", thought("t", 1, 1, { thoughtNumber: 1.5 }), /at thoughtNumber$/],
    ["thought", { nextThoughtNeeded: false, thoughtNumber: 1, totalThoughts: 1 }, /received undefined at thought$/],
    ["nextThoughtNeeded", thought("t", 1, 1, { nextThoughtNeeded: "no" }), /expected boolean, received string at nextThoughtNeeded$/],
    ["sessionId", thought("t", 1, 1, { sessionId: 42 }), /expected string, received number at sessionId$/],
    ["branchId", thought("t", 1, 1, { branchFromThought: 1, branchId: "" }), /at branchId$/],
  ])("sequential_thinking names the bad field %s", async (_field, args, pattern) => {
    const { client } = await harness();
    expect(await callError(client, "sequential_thinking", args)).toMatch(pattern);
  });

  it("parallel_thinking names duplicate and missing branches", async () => {
    const { client } = await harness();
    const duplicate = await callError(client, "parallel_thinking", {
      question: "q",
      branches: [
        { branchId: "a", thought: "1" },
        { branchId: "a", thought: "2" },
      ],
    });
    expect(duplicate).toMatch(/duplicate branchId "a" at branches\[1\]\.branchId/);
    expect(await callError(client, "parallel_thinking", { question: "q", branches: [{ branchId: "a", thought: "1" }] })).toMatch(/>=2 items at branches$/);
    expect(
      await callError(client, "parallel_thinking", {
        question: "q",
        branches: [
          { branchId: "a", thought: "1", confidence: 2 },
          { branchId: "b", thought: "2" },
        ],
      }),
    ).toMatch(/at branches\[0\]\.confidence$/);
  });

  it("reflective_thinking and session tools name their bad fields", async () => {
    const { client } = await harness();
    expect(await callError(client, "reflective_thinking", { thoughtNumber: "1", critique: "c" })).toMatch(/thoughtNumber/);
    expect(await callError(client, "reflective_thinking", { thoughtNumber: 1 })).toMatch(/critique/);
    expect(await callError(client, "thinking_session_list", { limit: 0 })).toMatch(/limit/);
    expect(await callError(client, "thinking_session_reset", { sessionId: "" })).toMatch(/sessionId/);
  });
});

describe("thinking server: persistence and eviction", () => {
  it("keeps sessions across a restart on the same SQLite file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thinking-"));
    try {
      const file = path.join(dir, "nested", "thinking.db");
      const before = await connectThinking({ file });
      await callOk(before.client, "sequential_thinking", thought("before restart", 1, 2, { sessionId: "p" }));
      await callOk(before.client, "sequential_thinking", thought("branch", 2, 2, { sessionId: "p", branchFromThought: 1, branchId: "x" }));
      await before.close();

      const after = await harness({ file });
      const session = await callOk(after.client, "thinking_session_get", { sessionId: "p" });
      expect((session.thoughts as Array<{ thought: string }>).map((t) => t.thought)).toEqual(["before restart", "branch"]);
      const next = await callOk(after.client, "sequential_thinking", thought("after restart", 3, 3, { sessionId: "p" }));
      expect(next).toMatchObject({ thoughtHistoryLength: 3, branches: ["x"] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("evicts sessions idle longer than the TTL, and only those", async () => {
    const h = await harness({ ttlMs: 1000 });
    await callOk(h.client, "sequential_thinking", thought("old", 1, 1, { sessionId: "idle" }));
    h.advance(600);
    await callOk(h.client, "sequential_thinking", thought("new", 1, 2, { sessionId: "busy" }));
    h.advance(600);
    // "idle" last changed 1200 ms ago, "busy" 600 ms ago.
    const list = await callOk(h.client, "thinking_session_list", {});
    expect((list.sessions as Array<{ sessionId: string }>).map((s) => s.sessionId)).toEqual(["busy"]);
    expect(await callError(h.client, "thinking_session_get", { sessionId: "idle" })).toMatch(/SESSION_NOT_FOUND/);
    const busy = await callOk(h.client, "sequential_thinking", thought("still here", 2, 2, { sessionId: "busy" }));
    expect(busy.thoughtHistoryLength).toBe(2);
    const revived = await callOk(h.client, "sequential_thinking", thought("starts over", 1, 1, { sessionId: "idle" }));
    expect(revived.thoughtHistoryLength).toBe(1);
  });

  it("reports when a session expires", async () => {
    const h = await harness({ ttlMs: 5000 });
    await callOk(h.client, "sequential_thinking", thought("t", 1, 1, { sessionId: "e" }));
    const session = await callOk(h.client, "thinking_session_get", { sessionId: "e" });
    expect(Date.parse(session.expiresAt as string) - Date.parse(session.updatedAt as string)).toBe(5000);
  });
});

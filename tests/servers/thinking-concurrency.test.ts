import { afterEach, describe, expect, it } from "vitest";
import { ThinkingStore } from "../../src/servers/thinking/store.ts";
import { barrier, callOk, connectThinking, thought, type ThinkingHarness } from "../helpers/thinking.ts";

// Seed Test 2: several agents think at once without blocking or seeing each other.

const THOUGHTS = 5;
const open: ThinkingHarness[] = [];
const stores: ThinkingStore[] = [];

afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  for (const s of stores.splice(0)) s.close();
});

function sharedStore(): ThinkingStore {
  const store = new ThinkingStore({ file: ":memory:", ttlMs: 60_000, maxEntriesPerSession: 1000 });
  stores.push(store);
  return store;
}

async function connect(store: ThinkingStore, agentId?: string): Promise<ThinkingHarness> {
  const h = await connectThinking({ store, agentId });
  open.push(h);
  return h;
}

/** One agent's run: THOUGHTS calls, each awaited before the next; returns the history lengths it was told. */
async function think(h: ThinkingHarness, label: string, sessionId?: string, sync?: () => Promise<void>): Promise<number[]> {
  const lengths: number[] = [];
  for (let n = 1; n <= THOUGHTS; n++) {
    await sync?.();
    const args = thought(`${label} thought ${n}`, n, THOUGHTS, sessionId === undefined ? {} : { sessionId });
    const result = await callOk(h.client, "sequential_thinking", args);
    lengths.push(result.thoughtHistoryLength as number);
  }
  return lengths;
}

function expectOwnHistory(store: ThinkingStore, sessionId: string, label: string): number[] {
  const session = store.getSession(sessionId);
  expect(session?.thoughts.map((t) => t.thought)).toEqual(Array.from({ length: THOUGHTS }, (_, i) => `${label} thought ${i + 1}`));
  expect(session?.thoughts.map((t) => t.thoughtNumber)).toEqual([1, 2, 3, 4, 5]);
  return session?.thoughts.map((t) => t.position) ?? [];
}

/** Every agent's first thought arrived before every other agent's last one: their runs overlapped. */
function expectOverlap(positions: number[][]): void {
  for (const mine of positions) {
    for (const theirs of positions) {
      expect(mine[0]).toBeLessThan(theirs[theirs.length - 1] ?? 0);
    }
  }
}

describe("thinking server: concurrent agents", () => {
  const agents = ["coding", "db", "deploy", "redis", "tests", "docs"];

  it("keeps six sessionIds apart while their calls interleave on one server", async () => {
    const store = sharedStore();
    const h = await connect(store);
    const lengths = await Promise.all(agents.map((agent) => think(h, agent, agent)));
    for (const told of lengths) expect(told).toEqual([1, 2, 3, 4, 5]);
    expectOverlap(agents.map((agent) => expectOwnHistory(store, agent, agent)));
  });

  it("lets agents on separate connections advance in lockstep (no agent waits for another to finish)", async () => {
    const store = sharedStore();
    const clients = await Promise.all(agents.map(() => connect(store)));
    const sync = barrier(agents.length);
    // Each round starts only when every agent finished the previous one: a server that served one
    // session to completion before the next would never get past round 1.
    await Promise.all(agents.map((agent, i) => think(clients[i] as ThinkingHarness, agent, agent, sync)));
    const positions = agents.map((agent) => expectOwnHistory(store, agent, agent));
    for (let round = 0; round + 1 < THOUGHTS; round++) {
      const thisRound = Math.max(...positions.map((p) => p[round] ?? Infinity));
      const nextRound = Math.min(...positions.map((p) => p[round + 1] ?? -Infinity));
      expect(thisRound).toBeLessThan(nextRound);
    }
  });

  it("keeps four AGENT_ID instances apart when they share one store and send no sessionId", async () => {
    const store = sharedStore();
    const ids = ["coding-agent", "db-agent", "deploy-agent", "redis-agent"];
    const instances = await Promise.all(ids.map((id) => connect(store, id)));
    const lengths = await Promise.all(ids.map((id, i) => think(instances[i] as ThinkingHarness, id)));
    for (const told of lengths) expect(told).toEqual([1, 2, 3, 4, 5]);
    expectOverlap(ids.map((id) => expectOwnHistory(store, id, id)));
    expect(store.getSession("default")).toBeUndefined();
  });
});

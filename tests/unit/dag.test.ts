import { describe, expect, it } from "vitest";
import { criticalPath, findCycle, levels, topologicalOrder } from "../../src/plan/dag.ts";

const ids = ["code", "db", "redis", "database", "app", "deploy"];
const deps = { code: [], db: [], redis: [], database: ["db"], app: ["code", "database"], deploy: ["app", "redis"] };

describe("dag", () => {
  it("orders topologically, stable in plan order", () => {
    expect(topologicalOrder(ids, deps)).toEqual(["code", "db", "redis", "database", "app", "deploy"]);
  });

  it("groups levels like the seed's parallel groups", () => {
    expect(levels(topologicalOrder(ids, deps)!, deps)).toEqual([["code", "db", "redis"], ["database"], ["app"], ["deploy"]]);
  });

  it("finds the critical path by duration", () => {
    const ms: Record<string, number> = { code: 1000, db: 100, redis: 100, database: 100, app: 100, deploy: 100 };
    expect(criticalPath(topologicalOrder(ids, deps)!, deps, (id) => ms[id]!)).toEqual({ ms: 1200, path: ["code", "app", "deploy"] });
  });

  it("names a cycle as a closed path", () => {
    const cyclic = { a: ["c"], b: ["a"], c: ["b"], d: [] };
    expect(topologicalOrder(["a", "b", "c", "d"], cyclic)).toBeUndefined();
    expect(findCycle(["a", "b", "c", "d"], cyclic)).toEqual(["a", "c", "b", "a"]);
  });
});

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { ExecState, Scheduler } from "../../src/engine/schedule.ts";
import { ToolCallError } from "../../src/mcp/client.ts";
import { FakeCaller, sleep } from "../helpers/fake-caller.ts";
import { ancestorsOf, dagShape, runPlan, SCHEDULERS, type DagShape } from "./dags.ts";

/**
 * Random DAGs of create steps with random injected faults (a step that fails for good, one that
 * fails once with a retryable 503, a delete that fails): every run ends succeeded, rolled_back or
 * compensation_failed, and what is left standing is exactly everything (success) or exactly the
 * things whose delete failed (failure).
 */
type Kind = "returnsRollback" | "declaresRollback" | "noop";
type Fault = "none" | "hard" | "flaky";

interface StepSpec {
  kind: Kind;
  fault: Fault;
  deleteFails: boolean;
  delayMs: number;
}

interface Case {
  shape: DagShape;
  specs: StepSpec[];
}

const MAX_STEPS = 8;
const ENDINGS = ["succeeded", "rolled_back", "compensation_failed"];
const tally = { dags: 0, runs: 0, planted: 0, hardFailed: 0, retried: 0, deleteFailed: 0, endings: {} as Record<string, number> };

afterAll(() => {
  console.log(
    `faults: ${tally.dags} random DAGs, ${tally.runs} runs, ${tally.planted} faults planted; triggered: ${tally.hardFailed} step failures, ` +
      `${tally.retried} retried 503s, ${tally.deleteFailed} failed deletes; endings ${JSON.stringify(tally.endings)}`,
  );
});

const stepSpec: fc.Arbitrary<StepSpec> = fc.record({
  kind: fc.constantFrom<Kind>("returnsRollback", "returnsRollback", "declaresRollback", "noop"),
  fault: fc.constantFrom<Fault>("none", "none", "none", "none", "hard", "flaky"),
  deleteFails: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
  delayMs: fc.integer({ min: 0, max: 3 }),
});

const cases: fc.Arbitrary<Case> = dagShape(MAX_STEPS).chain((shape) =>
  fc.record({ shape: fc.constant(shape), specs: fc.array(stepSpec, { minLength: shape.deps.length, maxLength: shape.deps.length }) }),
);

/** A world of things: create adds one, delete removes it; faults as the case says. */
class World {
  readonly live = new Set<string>();
  readonly created: string[] = [];
  readonly deletes: string[] = [];
  /** Steps whose call succeeded, and calls that started before all their dependencies had. */
  readonly finished = new Set<number>();
  readonly startedEarly: string[] = [];
  readonly caller = new FakeCaller();

  constructor(specs: StepSpec[], deps: number[][]) {
    const specOf = (name: unknown): StepSpec => specs[Number(String(name).slice(1))]!;
    const misbehave = async (tool: string, name: string): Promise<void> => {
      const step = Number(name.slice(1));
      if (deps[step]!.some((d) => !this.finished.has(d))) this.startedEarly.push(name);
      const spec = specOf(name);
      await sleep(spec.delayMs);
      if (spec.fault === "hard") throw new ToolCallError("TOOL_ERROR", `${tool} ${name} failed`, false);
      if (spec.fault === "flaky" && this.caller.calls.filter((c) => c.args["name"] === name).length === 1) {
        throw new ToolCallError("TOOL_ERROR", "503 service unavailable", true);
      }
    };
    this.caller.add("infra", "create", async (args) => {
      const name = String(args["name"]);
      await misbehave("create", name);
      this.finished.add(Number(name.slice(1)));
      const id = `id-${name}`;
      this.live.add(id);
      this.created.push(id);
      return specOf(name).kind === "returnsRollback" ? { id, rollback: { tool: "delete", arguments: { id } } } : { id };
    });
    this.caller.add("infra", "delete", async (args) => {
      const id = String(args["id"]);
      this.deletes.push(id);
      if (specOf(id.slice(3)).deleteFails) throw new ToolCallError("TOOL_ERROR", `delete ${id} failed`, false);
      this.live.delete(id);
      return { deleted: id };
    }, undefined, { destructiveHint: true });
    this.caller.add("infra", "noop", async (args) => {
      await misbehave("noop", String(args["name"]));
      this.finished.add(Number(String(args["name"]).slice(1)));
      return { name: args["name"] };
    }, undefined, { readOnlyHint: true });
  }
}

function planOf(c: Case): unknown {
  const steps = c.shape.listing.map((i) => {
    const spec = c.specs[i]!;
    const step = {
      id: `s${i}`,
      tool: spec.kind === "noop" ? "infra.noop" : "infra.create",
      dependencies: c.shape.deps[i]!.map((j) => `s${j}`),
      params: { name: `s${i}` },
      retry: { maxAttempts: 3, backoffMs: 1 },
    };
    return spec.kind === "declaresRollback" ? { ...step, rollback: { tool: "infra.delete", params: { id: `\${s${i}.id}` } } } : step;
  });
  return { name: "faults", steps };
}

function checkRun(c: Case, scheduler: Scheduler, world: World, state: ExecState): void {
  const label = `${scheduler}: ${JSON.stringify(c)}`;
  const { specs, shape } = c;
  expect(ENDINGS, label).toContain(state.status);
  expect(world.startedEarly, `${label}: started before their dependencies finished`).toEqual([]);
  const planted = specs.some((s) => s.fault === "hard");
  expect(state.status === "succeeded", label).toBe(!planted);
  const createSteps = specs.flatMap((s, i) => (s.kind === "noop" ? [] : [`id-s${i}`]));

  if (state.status === "succeeded") {
    expect([...world.live].sort(), label).toEqual(createSteps.sort());
    expect(world.deletes, label).toEqual([]);
  } else {
    const leftBehind = world.created.filter((id) => specs[Number(id.slice(4))]!.deleteFails);
    expect([...world.live].sort(), label).toEqual([...leftBehind].sort());
    expect([...world.deletes].sort(), label).toEqual([...world.created].sort());
    expect(state.status, label).toBe(leftBehind.length > 0 ? "compensation_failed" : "rolled_back");
    expect(state.compensations.filter((x) => x.status === "failed").map((x) => `id-${x.step}`).sort(), label).toEqual([...leftBehind].sort());
    // A thing is deleted before anything it was built on.
    const position = new Map(world.deletes.map((id, k) => [Number(id.slice(4)), k]));
    for (const [step, at] of position) {
      for (const ancestor of ancestorsOf(shape.deps, step)) {
        if (position.has(ancestor)) expect(at, label).toBeLessThan(position.get(ancestor)!);
      }
    }
  }
  for (const [i, spec] of specs.entries()) {
    const result = state.results[`s${i}`];
    if (spec.fault === "flaky" && result?.status === "succeeded") expect(result.attempts, label).toBe(2);
  }
}

describe("random DAGs with injected faults", () => {
  it("end succeeded, rolled_back or compensation_failed, leaving exactly what could not be deleted", async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        tally.dags++;
        tally.planted += c.specs.reduce((n, s) => n + (s.fault !== "none" ? 1 : 0) + (s.deleteFails ? 1 : 0), 0);
        for (const scheduler of SCHEDULERS) {
          tally.runs++;
          const world = new World(c.specs, c.shape.deps);
          const state = await runPlan(world.caller, planOf(c), scheduler);
          checkRun(c, scheduler, world, state);
          const results = Object.values(state.results);
          tally.hardFailed += results.filter((r) => r.status === "failed").length;
          tally.retried += results.filter((r) => r.attempts === 2).length;
          tally.deleteFailed += state.compensations.filter((x) => x.status === "failed").length;
          tally.endings[state.status] = (tally.endings[state.status] ?? 0) + 1;
        }
      }),
      { numRuns: 60 },
    );
  });
});

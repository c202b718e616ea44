import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { FakeCaller, sleep } from "../helpers/fake-caller.ts";
import { dagShape, runPlan, SCHEDULERS, type DagShape } from "./dags.ts";

/**
 * Random valid DAGs whose every output is a hash of the step's arguments (which carry its
 * dependencies' outputs) run to exactly the outputs of a plain sequential interpreter, under every
 * scheduler (asap, graph), whatever order the steps finish in.
 */
type Use = "whole" | "embedded" | "number" | "declared";

interface StepSpec {
  uses: Use[];
  salt: number;
  delayMs: number;
  readsSeed: boolean;
}

interface Case {
  shape: DagShape;
  specs: StepSpec[];
  seed: string;
}

interface Output {
  value: string;
  n: number;
}

const MAX_STEPS = 8;
const tally = { dags: 0, steps: 0, runs: 0 };

afterAll(() => {
  console.log(`equivalence: ${tally.dags} random DAGs (${tally.steps} steps), ${tally.runs} executor runs compared with the sequential reference`);
});

const stepSpec: fc.Arbitrary<StepSpec> = fc.record({
  uses: fc.array(fc.constantFrom<Use>("whole", "embedded", "number", "declared"), { minLength: 3, maxLength: 3 }),
  salt: fc.integer({ min: 0, max: 1_000_000 }),
  delayMs: fc.integer({ min: 0, max: 3 }),
  readsSeed: fc.boolean(),
});

const cases: fc.Arbitrary<Case> = dagShape(MAX_STEPS).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    specs: fc.array(stepSpec, { minLength: shape.deps.length, maxLength: shape.deps.length }),
    seed: fc.string({ maxLength: 8 }),
  }),
);

/** The deterministic tool: a hash of its arguments (key order does not matter). */
function compute(args: unknown): Output {
  const digest = createHash("sha256").update(canonical(args)).digest("hex");
  return { value: digest.slice(0, 16), n: parseInt(digest.slice(0, 6), 16) };
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** How step `i` refers to its k-th dependency `j`, as plan text. */
function template(use: Use, j: number): string {
  if (use === "whole") return `\${s${j}.value}`;
  if (use === "embedded") return `<\${s${j}.value}|\${s${j}.n}>`;
  if (use === "number") return `\${s${j}.n}`;
  return `dep:s${j}`;
}

/** The same reference resolved by hand, from the reference interpreter's outputs. */
function resolved(use: Use, dep: Output, j: number): unknown {
  if (use === "whole") return dep.value;
  if (use === "embedded") return `<${dep.value}|${dep.n}>`;
  if (use === "number") return dep.n;
  return `dep:s${j}`;
}

function planOf(c: Case): unknown {
  const steps = c.shape.listing.map((i) => {
    const spec = c.specs[i]!;
    const deps = c.shape.deps[i]!;
    return {
      id: `s${i}`,
      tool: "calc.h",
      dependencies: deps.filter((_, k) => spec.uses[k] === "declared").map((j) => `s${j}`),
      params: {
        name: `s${i}`,
        salt: spec.salt,
        inputs: deps.map((j, k) => template(spec.uses[k]!, j)),
        ...(spec.readsSeed ? { seed: "${seed}" } : {}),
      },
    };
  });
  return { name: "equivalence", params: { seed: "default" }, steps };
}

/** The sequential reference: steps in index order (topological by construction), references resolved by hand. */
function reference(c: Case): Output[] {
  const out: Output[] = [];
  c.shape.deps.forEach((deps, i) => {
    const spec = c.specs[i]!;
    const args = {
      name: `s${i}`,
      salt: spec.salt,
      inputs: deps.map((j, k) => resolved(spec.uses[k]!, out[j]!, j)),
      ...(spec.readsSeed ? { seed: c.seed } : {}),
    };
    out.push(compute(args));
  });
  return out;
}

function calcCaller(c: Case): FakeCaller {
  return new FakeCaller().add("calc", "h", async (args) => {
    await sleep(c.specs[Number(String(args["name"]).slice(1))]?.delayMs ?? 0);
    return compute(args);
  });
}

describe("random DAGs against a sequential reference", () => {
  it("every step's output equals the reference under asap and graph", async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        tally.dags++;
        tally.steps += c.shape.deps.length;
        const expected = reference(c);
        for (const scheduler of SCHEDULERS) {
          tally.runs++;
          const caller = calcCaller(c);
          const state = await runPlan(caller, planOf(c), scheduler, { seed: c.seed });
          expect(state.status, `${scheduler}: ${JSON.stringify(state.problems)}`).toBe("succeeded");
          expect(caller.calls).toHaveLength(expected.length);
          for (const [i, output] of expected.entries()) expect(state.results[`s${i}`]?.output, `${scheduler} s${i}`).toEqual(output);
        }
      }),
      { numRuns: 50 },
    );
  });
});

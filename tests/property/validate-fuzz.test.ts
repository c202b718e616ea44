import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { validatePlan, type Validation } from "../../src/plan/validate.ts";
import { infraCaller } from "../helpers/fake-caller.ts";

/**
 * validatePlan never throws: arbitrary values and random, structurally plausible plans either
 * validate or come back with problems that each name a field — and a plan with a known defect is
 * never accepted.
 */
const tools = infraCaller().tools;
const tally = { arbitrary: 0, plausible: 0, mutated: 0, valid: 0, invalid: 0 };

afterAll(() => {
  console.log(
    `validate fuzz: ${tally.arbitrary} arbitrary values, ${tally.plausible} plausible plans, ${tally.mutated} mutated DAGs; ${tally.valid} valid, ${tally.invalid} invalid`,
  );
});

function validateChecked(input: unknown, options: Parameters<typeof validatePlan>[1]): Validation {
  let result: Validation | undefined;
  expect(() => {
    result = validatePlan(input, options);
  }).not.toThrow();
  const validation = result!;
  if (!validation.ok) {
    expect(validation.problems.length).toBeGreaterThan(0);
    for (const p of validation.problems) {
      expect(typeof p.field).toBe("string");
      expect(p.field.length).toBeGreaterThan(0);
      expect(p.message.length).toBeGreaterThan(0);
    }
  }
  return validation;
}

const IDS = ["a", "b", "c", "d", "step_5", "1bad", "a b", ""] as const;
const GOOD_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const GOOD_TOOLS = ["infra.create", "infra.noop", "create", "noop"];
const UNKNOWN_TOOLS = ["infra.nope", "nope.create", "", "fail"];
const TOOLS = [...GOOD_TOOLS, "infra.delete", "create_infra", ...UNKNOWN_TOOLS];

const reference = fc
  .tuple(fc.constantFrom(...IDS, "p", "q", "ghost"), fc.constantFrom("", ".value", ".id", ".x.y"), fc.boolean())
  .map(([root, path, whole]) => (whole ? `\${${root}${path}}` : `pre-\${${root}${path}}-post`));

const params = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 6 }), reference, fc.integer()),
    value: fc.oneof(reference, fc.jsonValue({ maxDepth: 2 })),
    extra: fc.constant(1),
  },
  { requiredKeys: ["name"] },
);

const step = fc.record(
  {
    id: fc.constantFrom(...IDS),
    tool: fc.constantFrom(...TOOLS),
    dependencies: fc.array(fc.constantFrom(...IDS, "ghost"), { maxLength: 3 }),
    params,
    retry: fc.record({ maxAttempts: fc.integer({ min: -1, max: 25 }), backoffMs: fc.integer({ min: -5, max: 100 }) }, { requiredKeys: ["maxAttempts"] }),
    timeoutMs: fc.integer({ min: -5, max: 1000 }),
    rollback: fc.record({ tool: fc.constantFrom(...TOOLS), params: fc.record({ id: fc.oneof(reference, fc.string({ maxLength: 4 })) }) }),
    agent: fc.constantFrom("db", "deploy"),
  },
  { requiredKeys: ["id", "tool"] },
);

const plan = fc.record(
  {
    name: fc.constantFrom("plan", ""),
    params: fc.dictionary(fc.constantFrom("p", "q"), fc.oneof(fc.constant(null), fc.string({ maxLength: 4 })), { maxKeys: 2 }),
    steps: fc.array(step, { maxLength: 7 }),
  },
  { requiredKeys: ["name", "steps"] },
);

const overrides = fc.dictionary(fc.constantFrom("p", "q", "zz"), fc.string({ maxLength: 4 }), { maxKeys: 2 });

interface PlanLike {
  steps: { id: string; tool: string; dependencies?: string[]; retry?: { maxAttempts: number } }[];
}

/** Defects that an independent look at the plan can see; any one of them must make it invalid. */
function knownDefect(input: PlanLike): string | undefined {
  const ids = input.steps.map((s) => s.id);
  if (ids.length === 0) return "no steps";
  if (new Set(ids).size !== ids.length) return "duplicate id";
  if (ids.some((id) => !GOOD_ID.test(id))) return "bad id";
  if (input.steps.some((s) => (s.dependencies ?? []).some((d) => !ids.includes(d) || d === s.id))) return "bad dependency";
  if (input.steps.some((s) => UNKNOWN_TOOLS.includes(s.tool))) return "unknown tool";
  if (input.steps.some((s) => s.retry !== undefined && (s.retry.maxAttempts < 1 || s.retry.maxAttempts > 20))) return "bad retry";
  return undefined;
}

describe("validatePlan on random input", () => {
  it("never throws on arbitrary values, with or without tools", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ name: fc.anything(), steps: fc.array(fc.anything(), { maxLength: 4 }) })), overrides, (input, params) => {
        tally.arbitrary++;
        validateChecked(input, { tools, params });
        validateChecked(input, {});
      }),
      { numRuns: 400 },
    );
  });

  it("never throws on plausible plans; a known defect is always reported; an accepted plan is a DAG in topological order", () => {
    fc.assert(
      fc.property(plan, overrides, (input, params) => {
        tally.plausible++;
        const result = validateChecked(input, { tools, params });
        const defect = knownDefect(input as PlanLike);
        if (defect !== undefined) expect(result.ok, defect).toBe(false);
        if (!result.ok) {
          tally.invalid++;
          return;
        }
        tally.valid++;
        const { order, deps } = result.prepared;
        expect([...order].sort()).toEqual(input.steps.map((s) => s.id).sort());
        for (const s of input.steps) {
          for (const d of [...(s.dependencies ?? []), ...(deps[s.id] ?? [])]) expect(order.indexOf(d)).toBeLessThan(order.indexOf(s.id));
        }
      }),
      { numRuns: 600 },
    );
  });
});

// ── Valid DAGs with known defects planted in them ─────────────────────────────────────────────

interface DraftStep {
  id: string;
  tool: string;
  dependencies: string[];
  params: Record<string, unknown>;
  retry?: { maxAttempts: number };
  timeoutMs?: number;
  rollback?: { tool: string; params: Record<string, unknown> };
}

interface Draft {
  plan: { name: string; params: Record<string, unknown>; steps: DraftStep[] };
  overrides: Record<string, unknown>;
}

/** A valid plan: steps s0…sn-1, each depending on (or reading) only earlier steps. */
const validDraft = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc
    .tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          tool: fc.constantFrom("infra.create", "infra.noop", "create_infra", "noop"),
          declared: fc.subarray(Array.from({ length: i }, (_, j) => j)),
          read: fc.option(fc.integer({ min: 0, max: Math.max(0, i - 1) }), { nil: undefined }),
          usesParam: fc.boolean(),
          retry: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
          rollback: fc.boolean(),
        }),
      ),
    )
    .map((specs): Draft => ({
      plan: {
        name: "drafted",
        params: { p: "default" },
        steps: specs.map((spec, i) => {
          const reads = spec.read !== undefined && spec.read < i;
          const step: DraftStep = {
            id: `s${i}`,
            tool: spec.tool,
            dependencies: spec.declared.map((j) => `s${j}`),
            params: { name: spec.usesParam ? `s${i}-\${p}` : `s${i}`, ...(reads ? { value: `\${s${spec.read}.name}` } : {}) },
          };
          if (spec.retry !== undefined) step.retry = { maxAttempts: spec.retry };
          if (spec.rollback) step.rollback = { tool: "infra.delete", params: { id: `\${s${i}.name}` } };
          return step;
        }),
      },
      overrides: { p: "override" },
    })),
);

/** Each mutation plants one defect the validator must report. */
const MUTATIONS: Record<string, (d: Draft, k: number) => void> = {
  duplicateId: (d, k) => void d.plan.steps.push({ ...d.plan.steps[k]! }),
  badId: (d, k) => void (d.plan.steps[k]!.id = `9${d.plan.steps[k]!.id}`),
  unknownDependency: (d, k) => void d.plan.steps[k]!.dependencies.push("ghost"),
  selfDependency: (d, k) => void d.plan.steps[k]!.dependencies.push(d.plan.steps[k]!.id),
  cycle: (d, k) => {
    const last = d.plan.steps.length - 1;
    d.plan.steps[k]!.dependencies.push(`s${last}`);
    d.plan.steps[last]!.dependencies.push(`s${k}`);
  },
  unknownTool: (d, k) => void (d.plan.steps[k]!.tool = "infra.nope"),
  badRetry: (d, k) => void (d.plan.steps[k]!.retry = { maxAttempts: 0 }),
  negativeTimeout: (d, k) => void (d.plan.steps[k]!.timeoutMs = -1),
  ghostReference: (d, k) => void (d.plan.steps[k]!.params["value"] = "\${ghost.name}"),
  ownOutput: (d, k) => void (d.plan.steps[k]!.params["value"] = `\${${d.plan.steps[k]!.id}.name}`),
  paramWithField: (d, k) => void (d.plan.steps[k]!.params["value"] = "\${p.field}"),
  unknownField: (d, k) => void (d.plan.steps[k]!.params["extra"] = 1),
  wrongType: (d, k) => void (d.plan.steps[k]!.params["name"] = 42),
  missingRequired: (d, k) => void delete d.plan.steps[k]!.params["name"],
  rollbackUnknownTool: (d, k) => void (d.plan.steps[k]!.rollback = { tool: "nope.delete", params: {} }),
  paramWithoutDefault: (d) => void (d.plan.params["q"] = null),
  undeclaredParam: (d) => void (d.overrides["zz"] = 1),
  noSteps: (d) => void (d.plan.steps = []),
};

describe("validatePlan on valid DAGs with planted defects", () => {
  it("accepts exactly the plans with no defect planted, whatever the defect", () => {
    const drafts = fc.tuple(validDraft, fc.subarray(Object.keys(MUTATIONS), { maxLength: 2 }), fc.nat());
    fc.assert(
      fc.property(drafts, ([generated, mutations, seed]) => {
        tally.mutated++;
        const draft = structuredClone(generated);
        const n = draft.plan.steps.length;
        for (const m of mutations) MUTATIONS[m]!(draft, seed % n);
        const result = validateChecked(draft.plan, { tools, params: draft.overrides });
        expect(result.ok, `planted: ${mutations.join(", ") || "nothing"}`).toBe(mutations.length === 0);
        if (result.ok) tally.valid++;
        else tally.invalid++;
      }),
      { numRuns: 250 },
    );
  });
});

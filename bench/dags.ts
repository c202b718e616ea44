import type { ToolCaller } from "../src/mcp/client.ts";
import type { PlanInput } from "../src/plan/schema.ts";

/** A seeded PRNG (mulberry32), so every benchmark run sees the same DAGs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal milliseconds: median `medianMs`, spread `sigma`. */
export function logNormalMs(random: () => number, medianMs: number, sigma: number): number {
  const u = Math.max(random(), 1e-9);
  const v = random();
  const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(1, Math.round(medianMs * Math.exp(sigma * normal)));
}

export interface BenchDag {
  name: string;
  plan: PlanInput;
  /** Step id → how long its tool call sleeps. */
  ms: Record<string, number>;
}

/** A random DAG: each step depends on 0–3 of the (up to 12) steps before it. */
export function randomDag(seed: number, steps: number, medianMs = 40, sigma = 0.6): BenchDag {
  const random = rng(seed);
  const ms: Record<string, number> = {};
  const plan: PlanInput = { name: `random-${seed}-${steps}`, steps: [] };
  for (let i = 0; i < steps; i++) {
    const id = `s${i}`;
    const dependencies = new Set<string>();
    const fanIn = i === 0 ? 0 : Math.floor(random() * 4);
    for (let k = 0; k < fanIn; k++) dependencies.add(`s${Math.max(0, i - 1 - Math.floor(random() * 12))}`);
    ms[id] = logNormalMs(random, medianMs, sigma);
    plan.steps.push({ id, tool: "bench.sleep", dependencies: [...dependencies], params: { id } });
  }
  return { name: plan.name, plan, ms };
}

/**
 * A large provisioning-like DAG: `steps` steps whose calls take 100 ms–2 s (log-uniform), each
 * depending on 0–3 of the 40 steps before it, so hundreds are in flight at once.
 */
export function largeDag(seed: number, steps: number): BenchDag {
  const random = rng(seed);
  const ms: Record<string, number> = {};
  const plan: PlanInput = { name: `large-${seed}-${steps}`, steps: [] };
  for (let i = 0; i < steps; i++) {
    const id = `s${i}`;
    const dependencies = new Set<string>();
    const fanIn = i === 0 ? 0 : Math.floor(random() * 4);
    for (let k = 0; k < fanIn; k++) dependencies.add(`s${Math.max(0, i - 1 - Math.floor(random() * 40))}`);
    ms[id] = Math.round(100 * 20 ** random());
    plan.steps.push({ id, tool: "bench.sleep", dependencies: [...dependencies], params: { id } });
  }
  return { name: plan.name, plan, ms };
}

/** The seed's RAD Crawler DAG with its Test 1 times: generate_code 1000 ms, the rest 100 ms. */
export function radDag(): BenchDag {
  const step = (id: string, dependencies: string[]) => ({ id, tool: "bench.sleep", dependencies, params: { id } });
  const plan: PlanInput = {
    name: "rad-crawler",
    steps: [
      step("generate_code", []),
      step("create_neon_project", []),
      step("create_redis", []),
      step("create_database", ["create_neon_project"]),
      step("create_fly_app", ["generate_code", "create_database"]),
      step("deploy_app", ["create_fly_app", "create_redis"]),
    ],
  };
  const ms = Object.fromEntries(plan.steps.map((s) => [s.id, s.id === "generate_code" ? 1000 : 100]));
  return { name: "rad-crawler", plan, ms };
}

/** Step id → when its call started and when its sleep ended (performance.now(), sub-millisecond). */
export type CallSpans = Map<string, { startMs: number; endMs: number }>;

/**
 * An in-process tool `bench.sleep` that sleeps the step's time: measures scheduling, not transport.
 * With `spans`, each call's start and end are recorded there.
 */
export function sleeper(ms: Record<string, number>, spans?: CallSpans): ToolCaller {
  return {
    // Annotated: a tool without annotations is destructive by MCP's defaults, and the gate would refuse it.
    tools: [{ server: "bench", name: "sleep", description: "sleeps the step's time", inputSchema: { type: "object" }, annotations: { readOnlyHint: true, destructiveHint: false } }],
    call: (_server, _tool, args) => {
      const id = String(args["id"]);
      const startMs = performance.now();
      return new Promise((resolve) =>
        setTimeout(() => {
          spans?.set(id, { startMs, endMs: performance.now() });
          resolve({ ok: true });
        }, ms[id] ?? 0),
      );
    },
  };
}

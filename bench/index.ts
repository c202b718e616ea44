/**
 * `npm run bench` (or `npm run bench -- --only engine,thinking`): runs the benchmarks and prints
 * one JSON object with their numbers.
 */
import { benchOverhead, benchSchedulers } from "./engine.ts";

type Bench = () => Promise<Record<string, unknown>>;

const benches: Record<string, () => Promise<Bench>> = {
  schedulers: async () => () => benchSchedulers(),
  overhead: async () => () => benchOverhead(),
  "plan-graph": async () => (await import("./plan-graph.ts")).benchPlanGraph,
  thinking: async () => (await import("./thinking.ts")).benchThinking,
  forecast: async () => () => import("./forecast.ts").then((m) => m.benchForecast()),
  "forecast-templates": async () => (await import("./forecast-templates.ts")).benchTemplateForecast,
  reservations: async () => (await import("./reservations.ts")).benchReservations,
  workflows: async () => (await import("./workflows.ts")).benchWorkflows,
  cli: async () => (await import("./cli.ts")).benchCli,
  // The start-up and planning figures of `cli` alone (quick): before/after, as ratios to bare Node.
  front: async () => (await import("./cli.ts")).benchFront,
  // Each built-in server from spawn to its tools/list answer: bundle with and without its code cache, sources.
  servers: async () => (await import("./servers.ts")).benchServers,
  "embedded-postgres": async () => (await import("./embedded-postgres.ts")).benchEmbeddedPostgres,
  planner: async () => (await import("./planner.ts")).benchPlanner,
  doctor: async () => (await import("./doctor.ts")).benchDoctor,
  viewer: async () => (await import("./viewer.ts")).benchViewer,
  "architect-tokens": async () => (await import("./architect-tokens.ts")).benchArchitectTokens,
  // Execute while the plan streams vs wait for the whole plan, and the joiner on injected failures.
  "model-planning": async () => (await import("./model-planning.ts")).benchModelPlanning,
  workers: async () => (await import("./workers.ts")).benchWorkers,
};

const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? "").split(",") : Object.keys(benches);
const results: Record<string, unknown> = { node: process.version, at: new Date().toISOString() };
for (const name of only) {
  const load = benches[name];
  if (!load) throw new Error(`unknown benchmark "${name}" (known: ${Object.keys(benches).join(", ")})`);
  const started = performance.now();
  results[name] = await (await load())();
  process.stderr.write(`${name}: ${Math.round(performance.now() - started)} ms\n`);
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(0);

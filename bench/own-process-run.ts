/**
 * One no-op run of n steps on a fresh SQLite checkpointer, alone in this process (as a user's run is):
 * prints its peak RSS as JSON. `benchOverhead` spawns it: `tsx bench/own-process-run.ts 10000`.
 */
import { noopDag, runEngine, withSqlite } from "./engine.ts";

const n = Number(process.argv[2]);
if (!Number.isInteger(n) || n <= 0) throw new Error(`own-process-run: a step count is needed, got "${process.argv[2] ?? ""}"`);
const rssBeforeMb = Math.round(process.memoryUsage().rss / 1e6);
const { wallMs, peakRssMb } = await withSqlite((saver) => runEngine(noopDag(n), "asap", saver));
process.stdout.write(`${JSON.stringify({ steps: n, wallMs: Math.round(wallMs), rssBeforeMb, peakRssMb })}\n`);

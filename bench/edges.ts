import { PerformanceObserver } from "node:perf_hooks";
import type { CallSpans } from "./dags.ts";

/**
 * The delay of every edge of a run: from the end of a step's last dependency to the start of its own
 * call. With bare timers it is the event loop's floor; with the engine, what the engine adds on top.
 */
export function edgeDelaysMs(deps: Record<string, string[]>, spans: CallSpans): number[] {
  return Object.entries(deps)
    .filter(([, on]) => on.length > 0)
    .map(([id, on]) => spans.get(id)!.startMs - Math.max(...on.map((d) => spans.get(d)!.endMs)));
}

/**
 * Garbage-collection pauses of this process, as they happen: `pausedMs(from, to)` sums those that
 * started in the window (call it after the window, once its GC entries are delivered).
 */
export function gcPauses(): { pausedMs(fromMs: number, toMs: number): Promise<number>; stop(): void } {
  const pauses: { startMs: number; ms: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ startMs: entry.startTime, ms: entry.duration });
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    pausedMs: async (fromMs, toMs) => {
      // Entries are delivered after the GC, on a later turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 1));
      return pauses.filter((p) => p.startMs >= fromMs && p.startMs <= toMs).reduce((sum, p) => sum + p.ms, 0);
    },
    stop: () => observer.disconnect(),
  };
}

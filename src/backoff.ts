/**
 * The one retry delay: exponential backoff with jitter in its upper half, base·2^(attempt−1)·[0.5, 1),
 * capped at `maxMs`. Used by the engine between a step's attempts and by the cloud clients between
 * HTTP attempts.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

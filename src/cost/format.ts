/** `$0.0123`: four decimals under a dollar, two above. */
export function formatUsd(usd: number): string {
  return Math.abs(usd) < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** `850ms`, `12.3s`, `4m05s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** `12%` from a fraction. */
export function formatPct(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/**
 * Typical duration and price of one call on the cloud backends, used as step estimates until the
 * ledger has measured durations. Code generation is priced as one model call of its size.
 */
export const ESTIMATES = {
  codegenSimple: { ms: 20_000, usd: 0.05 },
  codegenComplex: { ms: 90_000, usd: 0.6 },
  neonProject: { ms: 6_000, usd: 0 },
  neonDatabase: { ms: 2_000, usd: 0 },
  neonBranch: { ms: 4_000, usd: 0 },
  neonRead: { ms: 800, usd: 0 },
  neonDelete: { ms: 3_000, usd: 0 },
  redisCreate: { ms: 5_000, usd: 0 },
  redisRead: { ms: 600, usd: 0 },
  redisDelete: { ms: 2_000, usd: 0 },
  vercelProject: { ms: 1_500, usd: 0 },
  vercelEnv: { ms: 800, usd: 0 },
  vercelDeploy: { ms: 45_000, usd: 0.01 },
  vercelRead: { ms: 500, usd: 0 },
  vercelDelete: { ms: 2_000, usd: 0 },
  flyApp: { ms: 2_000, usd: 0 },
  flySecrets: { ms: 1_500, usd: 0 },
  flyDeploy: { ms: 60_000, usd: 0.01 },
  flyRead: { ms: 500, usd: 0 },
  flyDelete: { ms: 2_000, usd: 0 },
  githubRepo: { ms: 2_500, usd: 0 },
  gitLocal: { ms: 300, usd: 0 },
  gitPush: { ms: 2_000, usd: 0 },
  githubPull: { ms: 1_200, usd: 0 },
  lint: { ms: 8_000, usd: 0 },
  typecheck: { ms: 15_000, usd: 0 },
  tests: { ms: 30_000, usd: 0 },
  scan: { ms: 2_000, usd: 0 },
} satisfies Record<string, { ms: number; usd: number }>;

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Hang detectors, not speed checks (speed is measured in bench/): the e2e tests spawn CLIs and
    // servers, which take several times longer on a loaded 2-core machine than on a quiet one.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});

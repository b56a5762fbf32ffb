import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // RANDLAB_REQUIRE_NATIVE=1 (CI) turns a missing native addon or data set into a failure.
    globalSetup: ['test/global-setup.ts'],
    // Kernels use both cores themselves; running test files in parallel would oversubscribe them.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

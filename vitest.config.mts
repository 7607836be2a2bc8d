import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          environment: "node",
          include: ["app/**/*.test.ts", "db/**/*.test.ts", "integrations/**/*.test.ts", "mailers/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          environment: "node",
          include: ["test/integration/**/*.test.ts"],
          setupFiles: ["test/integration/setup.ts"],
          globalSetup: ["test/integration/global-setup.ts"],
          fileParallelism: false,
          env: { NODE_ENV: "test", VITE_BLITZ_TEST_ENVIRONMENT: "1", LOG_LEVEL: "warn" },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})

// Shared vitest settings: workspace packages resolve to their TypeScript sources (the "source" export
// condition), so tests never need a build first.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["source", "node", "import", "default"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/*.browser.test.ts", "node_modules/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});

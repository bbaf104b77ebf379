// Unit tests only (src/**/*.test.ts, in Node). The browser end-to-end test has its own config
// (e2e/vitest.config.ts) and runs through `npm run e2e`, never through `npm test`.
export { default } from "../../vitest.shared.ts";

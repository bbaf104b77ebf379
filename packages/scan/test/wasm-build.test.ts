// The committed src/wasm/scan-wasm.generated.ts must be what scan.wat assembles to (the package's build and
// other packages' tests use it as is; `npm run build:wasm -w @cobra-ts/scan` regenerates it).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { assemble, generatedModule } from "../scripts/build-wasm.mjs";

it("scan-wasm.generated.ts is up to date with scan.wat", async () => {
  const dir = join(import.meta.dirname, "../src/wasm");
  const source = readFileSync(join(dir, "scan.wat"), "utf8");
  const expected = generatedModule(source, await assemble(source));
  const actual = readFileSync(join(dir, "scan-wasm.generated.ts"), "utf8");
  expect(actual === expected, "stale: run npm run build:wasm -w @cobra-ts/scan").toBe(true);
});

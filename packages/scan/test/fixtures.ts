// Loads the kernel fixture (expected/scan.json + scan.safetensors) of the fixture set under test, found by
// @cobra-ts/core/testing ($COBRA_FIXTURES / $COBRA_FIXTURE_SET, default cobra-tiny).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile } from "@cobra-ts/core/node";
import { fixtureSet } from "@cobra-ts/core/testing";
import type { ScanCase, Tensors } from "./cases.js";

export const FIXTURE_DIR = fixtureSet();

export function fixturesPresent(): boolean {
  return existsSync(join(FIXTURE_DIR, "expected/scan.json"));
}

export async function loadScanFixture(): Promise<{ cases: ScanCase[]; tensors: Tensors }> {
  const { cases } = JSON.parse(readFileSync(join(FIXTURE_DIR, "expected/scan.json"), "utf8")) as {
    cases: ScanCase[];
  };
  const file = await SafetensorsFile.open(join(FIXTURE_DIR, "expected/scan.safetensors"));
  const tensors: Tensors = {};
  try {
    for (const key of file.keys()) {
      const t = await file.read(key);
      if (!(t.data instanceof Float32Array)) throw new Error(`${key}: expected float32`);
      tensors[key] = { shape: t.shape, data: t.data };
    }
  } finally {
    await file.close();
  }
  return { cases, tensors };
}

export { OUTPUTS } from "./cases.js";

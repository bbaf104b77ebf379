// Loads the kernel fixture (expected/scan.json + scan.safetensors) from shared/ beside the repository.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile } from "@cobra-ts/core";
import type { ScanCase, Tensors } from "./cases.js";

export const FIXTURE_DIR =
  process.env.COBRA_FIXTURES ?? join(import.meta.dirname, "../../../../shared/fixtures/cobra-tiny");

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

/** The expected output names of a case (the tensors that are not inputs). */
export const OUTPUTS = new Set(["out", "last_state", "state_out", "final_states", "conv_state_out"]);

/**
 * Test support shared by every package's suite: where the oracle fixtures live. Not for product code.
 * `$COBRA_FIXTURES` names a folder of fixture sets; otherwise the `shared/fixtures` folder next to the
 * repository checkout (or inside it) is found by walking up from this file. `$COBRA_FIXTURE_SET` picks the
 * set (default `cobra-tiny`), so the same suites run on any set made the same way.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type * as Ort from "onnxruntime-common";
import { dequantizeBlockwise, quantizeBlockwise } from "./quant/blockwise.js";
import { float32ToFloat16Bits, type LinearQuantization } from "./quant/linear-storage.js";
import type { OrtModule } from "./runtime/ort-modules.js";
import { f16ToF32 } from "./tensor.js";
import { MemoryWeights, type TensorInit } from "./weights/memory.js";
import type { WeightSource } from "./weights/source.js";

export function fixturesRoot(): string {
  if (process.env.COBRA_FIXTURES) return resolve(process.env.COBRA_FIXTURES);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, "shared/fixtures"), join(dir, "../shared/fixtures")])
      if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("no shared/fixtures folder above the package: set COBRA_FIXTURES");
    dir = parent;
  }
}

/** The folder of one fixture set (README.md, release/, images/, expected/). */
export function fixtureSet(name = process.env.COBRA_FIXTURE_SET ?? "cobra-tiny"): string {
  return join(fixturesRoot(), name);
}

/** Deterministic values in [-scale, scale) for tests: repeatable, not random in any stronger sense. */
export function pseudoRandom(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** erf in float64 to ~1e-15: Taylor series near 0, continued fraction for erfc further out. */
export function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let k = 1; k < 80; k++) {
      term *= (-t * t) / k;
      sum += term / (2 * k + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let k = 80; k >= 1; k--) f = k / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

/** torch's exact GELU, x * Phi(x), in float64: what an Erf-based graph must reproduce. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/**
 * A copy of `source` in memory where each weight `stored(key)` picks is replaced by what a graph built with
 * `q` computes with: rounded to float16, or block-quantized and dequantized ([rows, rest] for a 4-D conv
 * weight). An fp32 graph built on it is the reference a quantized graph must match up to float rounding.
 */
export async function weightsAsStored(
  source: WeightSource,
  stored: (key: string) => boolean,
  q: LinearQuantization,
): Promise<MemoryWeights> {
  const tensors: Record<string, TensorInit> = {};
  for (const key of source.keys()) {
    const t = await source.read(key);
    if (!stored(key) || !(t.data instanceof Float32Array)) {
      tensors[key] = t;
      continue;
    }
    const [rows, ...rest] = t.shape;
    const cols = rest.reduce((a, b) => a * b, 1);
    const data =
      q.method === "float16"
        ? f16ToF32(float32ToFloat16Bits(t.data))
        : dequantizeBlockwise(quantizeBlockwise(t.data, rows, cols, q));
    tensors[key] = { ...t, data };
  }
  return new MemoryWeights(tensors, `${source.path} as ${q.dtype}`);
}

/** How far features `got` are from `ref` (both [..., rowLength]): what quantization error tests print and bound. */
export interface Drift {
  maxAbs: number;
  /** ||got - ref|| / ||ref||: the relative RMS error. */
  relL2: number;
  /** The lowest cosine similarity of a row (a token's feature vector) with its reference row. */
  minCosine: number;
}

export function drift(got: Float32Array, ref: Float32Array, rowLength: number): Drift {
  if (got.length !== ref.length || ref.length % rowLength !== 0)
    throw new Error(`drift: ${got.length} vs ${ref.length} values in rows of ${rowLength}`);
  let maxAbs = 0;
  let err = 0;
  let norm = 0;
  let minCosine = 1;
  for (let r = 0; r < ref.length; r += rowLength) {
    let dot = 0;
    let gg = 0;
    let rr = 0;
    for (let i = r; i < r + rowLength; i++) {
      const d = got[i] - ref[i];
      maxAbs = Math.max(maxAbs, Math.abs(d));
      err += d * d;
      dot += got[i] * ref[i];
      gg += got[i] * got[i];
      rr += ref[i] * ref[i];
    }
    norm += rr;
    minCosine = Math.min(minCosine, gg === 0 && rr === 0 ? 1 : dot / Math.sqrt(gg * rr));
  }
  return { maxAbs, relL2: Math.sqrt(err / norm), minCosine };
}

/** Bounds on a quantized graph's drift from fp32 (relative L2 at most, lowest token cosine at least). */
export interface DriftBound {
  relL2: number;
  minCosine: number;
}

/**
 * Checks a quantized graph's outputs (one array per input) against the fp32 graph on the weights as stored
 * (`asStored`: equal up to float rounding at accuracy level 0, within `bound` at other levels, whose int8
 * activations are the error left; null where there is no such reference) and against the fp32 graph on the
 * original weights (`fp32`: within `bound`, and not equal). Returns the worst figures over the inputs as one
 * printable line; throws when a check fails.
 */
export function checkQuantizationDrift(
  got: Float32Array[],
  asStored: Float32Array[] | null,
  fp32: Float32Array[],
  rowLength: number,
  accuracyLevel: number,
  bound: DriftBound,
): string {
  const worst = (ref: Float32Array[]): Drift => {
    const all = got.map((g, i) => drift(g, ref[i], rowLength));
    return {
      maxAbs: Math.max(...all.map((d) => d.maxAbs)),
      relL2: Math.max(...all.map((d) => d.relL2)),
      minCosine: Math.min(...all.map((d) => d.minCosine)),
    };
  };
  const d = worst(fp32);
  let line = `max abs ${d.maxAbs.toExponential(2)}, rel L2 ${d.relL2.toExponential(2)}, min cosine ${d.minCosine.toFixed(6)}`;
  if (asStored) {
    const kernel = worst(asStored);
    line += ` (vs the weights as stored: rel L2 ${kernel.relL2.toExponential(2)})`;
    const kernelBound = accuracyLevel === 0 ? 1e-6 : bound.relL2;
    if (!(kernel.relL2 < kernelBound))
      throw new Error(`off the fp32 graph on the weights as stored by more than ${kernelBound}: ${line}`);
  }
  if (!(d.relL2 < bound.relL2 && d.minCosine > bound.minCosine && d.relL2 > 0))
    throw new Error(
      `drift from fp32 outside (0, ${bound.relL2}) rel L2 / > ${bound.minCosine} cosine: ${line}`,
    );
  return line;
}

/**
 * An onnxruntime module that behaves as `ort` and records the options of every session it creates: hand it
 * over as `ort` to check which session options a part opens its graph with.
 */
export function recordingOrt(ort: OrtModule): {
  ort: OrtModule;
  created: Ort.InferenceSession.SessionOptions[];
} {
  const created: Ort.InferenceSession.SessionOptions[] = [];
  const create = (model: string | Uint8Array, options: Ort.InferenceSession.SessionOptions = {}) => {
    created.push(options);
    return typeof model === "string"
      ? ort.InferenceSession.create(model, options)
      : ort.InferenceSession.create(model, options);
  };
  const InferenceSession = Object.assign(Object.create(ort.InferenceSession), { create });
  return { ort: { ...ort, InferenceSession } as OrtModule, created };
}

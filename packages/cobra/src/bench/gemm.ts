import { type Backend, GraphBuilder, openSession, serializeModel } from "@cobra-ts/core";
import { Xorshift32 } from "../synth/random-tensor.js";

export interface GemmOptions {
  /** M = N = K; default 2048 (a 17 GFLOP product: seconds of work, no cache effects). */
  size?: number;
  backend?: Backend;
  threads?: number;
  repeats?: number;
}

export interface GemmResult {
  gflops: number;
  size: number;
  bestMs: number;
}

/**
 * fp32 GEMM throughput of onnxruntime on this machine: one MatMul of [n, n] activations by an [n, n] constant
 * (constant like the LM's weights, so onnxruntime prepacks it the same way), best of several runs after a
 * warm-up. What prefill can at most reach, since prefill is a chain of such products.
 */
export async function measureGemm(options: GemmOptions = {}): Promise<GemmResult> {
  const n = options.size ?? 2048;
  const repeats = options.repeats ?? 5;
  const random = (count: number, seed: number) => {
    const rng = new Xorshift32(seed);
    return Float32Array.from({ length: count }, () => rng.next());
  };
  const g = new GraphBuilder("gemm_probe");
  const a = g.input("a", "float32", [n, n]);
  const b = g.initializer("b", "float32", [n, n], random(n * n, 2));
  g.output(g.op("MatMul", [a, b], {}, { name: "c" }), "float32", [n, n]);
  const { session, ort } = await openSession(serializeModel(g), {
    backend: options.backend,
    threads: options.threads,
  });
  try {
    const feeds = { a: new ort.Tensor("float32", random(n * n, 1), [n, n]) };
    await session.run(feeds);
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      best = Math.min(best, performance.now() - t0);
    }
    return { gflops: (2 * n * n * n) / (best / 1000) / 1e9, size: n, bestMs: best };
  } finally {
    await session.release();
  }
}

import type { Backend } from "@cobra-ts/core";
import { measureGemm } from "./gemm.js";
import { measureReadBandwidth } from "./read-bandwidth.js";

export interface MachineLimits {
  /** All cores reading at once, GB/s. */
  bandwidthGbPerS: number;
  bandwidthThreads: number;
  oneThreadGbPerS: number;
  gemmGflops: number;
  gemmSize: number;
}

export interface ProbeOptions {
  bytesPerThread?: number;
  gemmSize?: number;
  backend?: Backend;
  threads?: number;
}

/** One round of the machine probes: read bandwidth (all cores, then one) and fp32 GEMM throughput. */
export async function probeMachine(options: ProbeOptions): Promise<MachineLimits> {
  const all = await measureReadBandwidth({ bytesPerThread: options.bytesPerThread });
  const one = await measureReadBandwidth({ threads: 1, bytesPerThread: options.bytesPerThread });
  const gemm = await measureGemm({
    size: options.gemmSize,
    backend: options.backend,
    threads: options.threads,
  });
  return {
    bandwidthGbPerS: all.gbPerS,
    bandwidthThreads: all.threads,
    oneThreadGbPerS: one.gbPerS,
    gemmGflops: gemm.gflops,
    gemmSize: gemm.size,
  };
}

/**
 * The better of several rounds: a limit is what the hardware allows, and on a shared machine a round can
 * lose its cores to other processes for a while; the best round is the one that had them.
 */
export function bestLimits(rounds: MachineLimits[]): MachineLimits {
  const max = (pick: (l: MachineLimits) => number) => Math.max(...rounds.map(pick));
  return {
    ...rounds[0],
    bandwidthGbPerS: max((l) => l.bandwidthGbPerS),
    oneThreadGbPerS: max((l) => l.oneThreadGbPerS),
    gemmGflops: max((l) => l.gemmGflops),
  };
}

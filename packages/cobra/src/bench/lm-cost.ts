import type { MambaConfig } from "@cobra-ts/mamba-lm";

/**
 * Multiply-add FLOPs of one position through the LM's matrix products (in_proj, x_proj, dt_proj, out_proj per
 * layer): what a GEMM-bound prefill spends per token. The conv, scan and norms add O(d_inner * d_state) per
 * layer, under 1% at every real size, and are left out so the figure is a pure GEMM budget.
 */
export function matmulFlopsPerPosition(c: MambaConfig): number {
  const perLayer =
    c.dModel * 2 * c.dInner +
    c.dInner * (c.dtRank + 2 * c.dState) +
    c.dtRank * c.dInner +
    c.dInner * c.dModel;
  return 2 * c.nLayer * perLayer;
}

/** The tied (or untied) head, run once per call on the last position only. */
export function headFlops(c: MambaConfig): number {
  return 2 * c.vocabSizePadded * c.dModel;
}

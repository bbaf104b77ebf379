import type { Tensor } from "@cobra-ts/core";

/** A dense row-major float32 tensor: what every kernel takes. `Tensor<Float32Array>` from @cobra-ts/core fits. */
export interface F32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What the kernels return (a @cobra-ts/core tensor, dtype F32). */
export type F32Result = Tensor<Float32Array>;

/** Options of `selectiveScan` (mamba_ssm `selective_scan_ref`). */
export interface SelectiveScanOptions {
  /** Skip connection [d]: out += D * u. */
  D?: F32Tensor;
  /** Gate [batch, d, L]: out *= silu(z). */
  z?: F32Tensor;
  /** [d], added to delta before the softplus. */
  deltaBias?: F32Tensor;
  /** delta = softplus(delta + deltaBias), torch semantics (identity above 20). Default false. */
  deltaSoftplus?: boolean;
  /** State before the first token [batch, d, N] (chunked prefill, state reuse). Default zeros. */
  initialState?: F32Tensor;
}

export interface SelectiveScanResult {
  /** [batch, d, L] */
  out: F32Result;
  /** State after the last token [batch, d, N]. */
  lastState: F32Result;
}

/** Options of `selectiveStateUpdate` (mamba_ssm `selective_state_update_ref`). */
export interface SelectiveStateUpdateOptions {
  /** [d] */
  D?: F32Tensor;
  /** [batch, d] */
  z?: F32Tensor;
  /** [d], added to dt before the softplus. */
  dtBias?: F32Tensor;
  /** Default false. */
  dtSoftplus?: boolean;
}

/** Options of `causalConv1d` (causal-conv1d `causal_conv1d_ref`). */
export interface CausalConv1dOptions {
  /** The W-1 inputs before x [batch, d, W-1]. Default zeros. */
  initialState?: F32Tensor;
  /** Apply SiLU to the output (activation "silu"/"swish"). Default false. */
  silu?: boolean;
}

export interface CausalConv1dResult {
  /** [batch, d, L] */
  out: F32Result;
  /** The last W-1 inputs [batch, d, W-1] (zero-padded on the left when there were fewer). */
  finalState: F32Result;
}

export interface CausalConv1dUpdateOptions {
  silu?: boolean;
}

/**
 * The four Mamba kernels behind one interface. Shapes (row-major float32):
 * - selectiveScan: u, delta, z [batch, d, L]; A [d, N]; B, C [batch, N, L] or grouped [batch, G, N, L]
 *   (channel c uses group floor(c / (d / G))); D, deltaBias [d]; initialState [batch, d, N].
 * - selectiveStateUpdate: state [batch, d, N] (updated in place, like the reference); x, dt, z [batch, d];
 *   A [d, N]; B, C [batch, N] or [batch, G, N]; D, dtBias [d]. Returns out [batch, d].
 * - causalConv1d: x [batch, d, L], weight [d, W], bias [d] or null, initialState [batch, d, W-1].
 * - causalConv1dUpdate: convState [batch, d, W] (rolled left by one and x written last, in place), x [batch, d].
 *   Returns out [batch, d].
 */
export interface ScanKernel {
  /** "reference", "wasm-simd", "webgpu", ... */
  readonly name: string;
  selectiveScan(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    options?: SelectiveScanOptions,
  ): Promise<SelectiveScanResult>;
  selectiveStateUpdate(
    state: F32Tensor,
    x: F32Tensor,
    dt: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    options?: SelectiveStateUpdateOptions,
  ): Promise<F32Result>;
  causalConv1d(
    x: F32Tensor,
    weight: F32Tensor,
    bias?: F32Tensor | null,
    options?: CausalConv1dOptions,
  ): Promise<CausalConv1dResult>;
  causalConv1dUpdate(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias?: F32Tensor | null,
    options?: CausalConv1dUpdateOptions,
  ): Promise<F32Result>;
  /** Frees workers / GPU resources. The kernel is unusable afterwards. */
  dispose(): void;
}

/** The same four ops, synchronous (CPU kernels). */
export interface SyncScanOps {
  selectiveScanSync(
    u: F32Tensor,
    delta: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    options?: SelectiveScanOptions,
  ): SelectiveScanResult;
  selectiveStateUpdateSync(
    state: F32Tensor,
    x: F32Tensor,
    dt: F32Tensor,
    A: F32Tensor,
    B: F32Tensor,
    C: F32Tensor,
    options?: SelectiveStateUpdateOptions,
  ): F32Result;
  causalConv1dSync(
    x: F32Tensor,
    weight: F32Tensor,
    bias?: F32Tensor | null,
    options?: CausalConv1dOptions,
  ): CausalConv1dResult;
  causalConv1dUpdateSync(
    convState: F32Tensor,
    x: F32Tensor,
    weight: F32Tensor,
    bias?: F32Tensor | null,
    options?: CausalConv1dUpdateOptions,
  ): F32Result;
}

export type SyncScanKernel = ScanKernel & SyncScanOps;

/**
 * Plain TypeScript reference of the four kernels: loop for loop the official references (mamba_ssm v1.2.2
 * selective_scan_ref / selective_state_update_ref, causal-conv1d v1.2.0.post1 causal_conv1d_ref /
 * causal_conv1d_update_ref), in float64 arithmetic, rounded to float32 once per stored value. It is the
 * ground truth the fast kernels are tested against.
 */
import { f32 } from "@cobra-ts/core";
import { convDims, convUpdateDims, scanDims, updateDims } from "./shapes.js";
import { syncKernel } from "./sync-kernel.js";
import type {
  CausalConv1dOptions,
  CausalConv1dResult,
  CausalConv1dUpdateOptions,
  F32Result,
  F32Tensor,
  SelectiveScanOptions,
  SelectiveScanResult,
  SelectiveStateUpdateOptions,
  SyncScanKernel,
} from "./types.js";

/** torch.nn.functional.softplus with beta 1, threshold 20: the identity above 20. */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

/** x * sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function selectiveScanReference(
  u: F32Tensor,
  delta: F32Tensor,
  A: F32Tensor,
  B: F32Tensor,
  C: F32Tensor,
  options: SelectiveScanOptions = {},
): SelectiveScanResult {
  const { batch, d, L, N, groups } = scanDims(u, delta, A, B, C, options);
  const { D, z, deltaBias, deltaSoftplus = false, initialState } = options;
  const out = new Float32Array(batch * d * L);
  const lastState = new Float32Array(batch * d * N);
  const h = new Float64Array(N);
  const channelsPerGroup = d / groups;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < d; c++) {
      const row = (b * d + c) * L; // u, delta, z, out
      const bc = (b * groups + Math.floor(c / channelsPerGroup)) * N * L; // B, C of this channel's group
      const s = (b * d + c) * N; // states
      for (let n = 0; n < N; n++) h[n] = initialState ? initialState.data[s + n] : 0;
      for (let t = 0; t < L; t++) {
        let dt = delta.data[row + t] + (deltaBias ? deltaBias.data[c] : 0);
        if (deltaSoftplus) dt = softplus(dt);
        const ut = u.data[row + t];
        let y = 0;
        for (let n = 0; n < N; n++) {
          // h_t = exp(delta A) h_{t-1} + delta B_t u_t ;  y_t = C_t . h_t
          h[n] = Math.exp(dt * A.data[c * N + n]) * h[n] + dt * B.data[bc + n * L + t] * ut;
          y += h[n] * C.data[bc + n * L + t];
        }
        if (D) y += ut * D.data[c];
        if (z) y *= silu(z.data[row + t]);
        out[row + t] = y;
      }
      for (let n = 0; n < N; n++) lastState[s + n] = h[n];
    }
  }
  return { out: f32([batch, d, L], out), lastState: f32([batch, d, N], lastState) };
}

export function selectiveStateUpdateReference(
  state: F32Tensor,
  x: F32Tensor,
  dt: F32Tensor,
  A: F32Tensor,
  B: F32Tensor,
  C: F32Tensor,
  options: SelectiveStateUpdateOptions = {},
): F32Result {
  const { batch, d, N, groups } = updateDims(state, x, dt, A, B, C, options);
  const { D, z, dtBias, dtSoftplus = false } = options;
  const out = new Float32Array(batch * d);
  const channelsPerGroup = d / groups;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < d; c++) {
      const i = b * d + c;
      const bc = (b * groups + Math.floor(c / channelsPerGroup)) * N;
      let delta = dt.data[i] + (dtBias ? dtBias.data[c] : 0);
      if (dtSoftplus) delta = softplus(delta);
      let y = 0;
      for (let n = 0; n < N; n++) {
        const s = i * N + n;
        // The reference updates the state in place (state.copy_), in float32.
        state.data[s] =
          Math.exp(delta * A.data[c * N + n]) * state.data[s] + delta * B.data[bc + n] * x.data[i];
        y += state.data[s] * C.data[bc + n];
      }
      if (D) y += x.data[i] * D.data[c];
      if (z) y *= silu(z.data[i]);
      out[i] = y;
    }
  }
  return f32([batch, d], out);
}

export function causalConv1dReference(
  x: F32Tensor,
  weight: F32Tensor,
  bias: F32Tensor | null = null,
  options: CausalConv1dOptions = {},
): CausalConv1dResult {
  const { batch, d, L, W } = convDims(x, weight, bias, options);
  const { initialState, silu: applySilu = false } = options;
  const out = new Float32Array(batch * d * L);
  const finalState = new Float32Array(batch * d * (W - 1));
  // The padded input row: W-1 initial values (or zeros), then x.
  const padded = new Float64Array(W - 1 + L);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < d; c++) {
      const row = (b * d + c) * L;
      const st = (b * d + c) * (W - 1);
      for (let k = 0; k < W - 1; k++) padded[k] = initialState ? initialState.data[st + k] : 0;
      for (let t = 0; t < L; t++) padded[W - 1 + t] = x.data[row + t];
      for (let t = 0; t < L; t++) {
        // F.conv1d is a cross-correlation: out[t] = bias + sum_k w[k] x[t - (W-1) + k]
        let acc = bias ? bias.data[c] : 0;
        for (let k = 0; k < W; k++) acc += weight.data[c * W + k] * padded[t + k];
        out[row + t] = applySilu ? silu(acc) : acc;
      }
      for (let k = 0; k < W - 1; k++) finalState[st + k] = padded[L + k];
    }
  }
  return { out: f32([batch, d, L], out), finalState: f32([batch, d, W - 1], finalState) };
}

export function causalConv1dUpdateReference(
  convState: F32Tensor,
  x: F32Tensor,
  weight: F32Tensor,
  bias: F32Tensor | null = null,
  options: CausalConv1dUpdateOptions = {},
): F32Result {
  const { batch, d, W } = convUpdateDims(convState, x, weight, bias);
  const out = new Float32Array(batch * d);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < d; c++) {
      const s = (b * d + c) * W;
      // Roll the window left by one and put x last (in place), then the dot product with the weights.
      convState.data.copyWithin(s, s + 1, s + W);
      convState.data[s + W - 1] = x.data[b * d + c];
      let acc = 0;
      for (let k = 0; k < W; k++) acc += convState.data[s + k] * weight.data[c * W + k];
      if (bias) acc += bias.data[c];
      out[b * d + c] = options.silu ? silu(acc) : acc;
    }
  }
  return f32([batch, d], out);
}

/** The reference implementation as a ScanKernel (sync ops plus the uniform async ones). */
export const referenceKernel: SyncScanKernel = syncKernel("reference", {
  selectiveScanSync: selectiveScanReference,
  selectiveStateUpdateSync: selectiveStateUpdateReference,
  causalConv1dSync: causalConv1dReference,
  causalConv1dUpdateSync: causalConv1dUpdateReference,
});

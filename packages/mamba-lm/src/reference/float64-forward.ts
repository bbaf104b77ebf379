// A plain TS Mamba forward (float64 between the scan package's reference kernels) for checking the graph on
// configs the oracle fixtures do not cover. Batch 1, every position's logits.
import type { WeightSource } from "@cobra-ts/core";
import { causalConv1dReference, selectiveScanReference } from "@cobra-ts/scan";
import type { MambaConfig } from "../config/mamba-config.js";
import { EMBEDDING, LM_HEAD, MambaWeights, NORM_F } from "../weights/mamba-weights.js";

/** x [rows, in] times W^T, W stored [out, in] (torch Linear), plus bias. */
function linear(
  x: Float64Array,
  rows: number,
  W: Float32Array,
  inDim: number,
  bias?: Float32Array,
): Float64Array {
  const outDim = W.length / inDim;
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * W[o * inDim + i];
      y[r * outDim + o] = s;
    }
  return y;
}

/** [rows, cols] (columns from..from+n of each row) -> channels-first f32 [1, n, rows]. */
function channelsFirst(x: Float64Array, rows: number, cols: number, from: number, n: number) {
  const data = new Float32Array(n * rows);
  for (let t = 0; t < rows; t++) for (let c = 0; c < n; c++) data[c * rows + t] = x[t * cols + from + c];
  return { shape: [1, n, rows], data };
}

/** Every position's logits [L, vocab] for token ids. */
export async function referenceLogits(
  source: WeightSource,
  config: MambaConfig,
  ids: readonly number[],
): Promise<Float64Array> {
  const weights = MambaWeights.from(source);
  const embedding = (await weights.read(EMBEDDING)).data as Float32Array;
  const d = config.dModel;
  const rows = new Float64Array(ids.length * d);
  for (const [t, id] of ids.entries()) rows.set(embedding.subarray(id * d, (id + 1) * d), t * d);
  return referenceLogitsOfRows(source, config, rows);
}

/**
 * Every position's logits [L, vocab] for input rows [L, d_model] (embedded ids, or any prefix rows); with
 * `lastOnly`, the last position's [vocab] (the head is most of the work at a real vocabulary).
 */
export async function referenceLogitsOfRows(
  source: WeightSource,
  config: MambaConfig,
  rows: Float64Array,
  options: { lastOnly?: boolean } = {},
): Promise<Float64Array> {
  const weights = MambaWeights.from(source);
  const get = async (name: string) => (await weights.read(name)).data as Float32Array;
  const maybe = (name: string) => (weights.has(name) ? get(name) : Promise.resolve(undefined));
  const { dModel: d, dInner: di, dState: n, dConv: k, dtRank: r } = config;
  const L = rows.length / d;
  const norm = async (x: Float64Array, prefix: string) => {
    const w = await get(`${prefix}.weight`);
    const b = config.rmsNorm ? undefined : await get(`${prefix}.bias`);
    const y = new Float64Array(x.length);
    for (let t = 0; t < L; t++) {
      const row = x.subarray(t * d, (t + 1) * d);
      const mean = config.rmsNorm ? 0 : row.reduce((s, v) => s + v, 0) / d;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / d;
      for (let j = 0; j < d; j++)
        y[t * d + j] = ((row[j] - mean) / Math.sqrt(variance + config.normEps)) * w[j] + (b ? b[j] : 0);
    }
    return y;
  };

  let residual = rows.slice();
  for (let layer = 0; layer < config.nLayer; layer++) {
    const m = `layers.${layer}.mixer`;
    const h = await norm(residual, `layers.${layer}.norm`);
    const xz = linear(h, L, await get(`${m}.in_proj.weight`), d, await maybe(`${m}.in_proj.bias`));
    const convBias = await maybe(`${m}.conv1d.bias`);
    const conv = causalConv1dReference(
      channelsFirst(xz, L, 2 * di, 0, di),
      { shape: [di, k], data: await get(`${m}.conv1d.weight`) },
      convBias ? { shape: [di], data: convBias } : null,
      { silu: true },
    ).out;
    const xc = new Float64Array(L * di); // back to [L, di]
    for (let t = 0; t < L; t++) for (let c = 0; c < di; c++) xc[t * di + c] = conv.data[c * L + t];
    const xdbl = linear(xc, L, await get(`${m}.x_proj.weight`), di);
    const dtLow = new Float64Array(L * r);
    for (let t = 0; t < L; t++) dtLow.set(xdbl.subarray(t * (r + 2 * n), t * (r + 2 * n) + r), t * r);
    const dt = linear(dtLow, L, await get(`${m}.dt_proj.weight`), r);
    const A = (await get(`${m}.A_log`)).map((v) => -Math.exp(v));
    const scan = selectiveScanReference(
      { shape: [1, di, L], data: conv.data },
      channelsFirst(dt, L, di, 0, di),
      { shape: [di, n], data: A },
      channelsFirst(xdbl, L, r + 2 * n, r, n),
      channelsFirst(xdbl, L, r + 2 * n, r + n, n),
      {
        D: { shape: [di], data: await get(`${m}.D`) },
        z: channelsFirst(xz, L, 2 * di, di, di),
        deltaBias: { shape: [di], data: await get(`${m}.dt_proj.bias`) },
        deltaSoftplus: true,
      },
    ).out;
    const y = new Float64Array(L * di);
    for (let t = 0; t < L; t++) for (let c = 0; c < di; c++) y[t * di + c] = scan.data[c * L + t];
    const out = linear(y, L, await get(`${m}.out_proj.weight`), di, await maybe(`${m}.out_proj.bias`));
    residual = residual.map((v, i) => v + out[i]);
  }
  const head = await get(config.tieEmbeddings ? EMBEDDING : LM_HEAD);
  const normed = await norm(residual, NORM_F);
  return options.lastOnly ? linear(normed.subarray((L - 1) * d), 1, head, d) : linear(normed, L, head, d);
}

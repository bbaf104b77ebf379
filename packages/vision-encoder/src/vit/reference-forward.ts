// Test support: timm's ViT forward written plainly in float64, to check the ONNX graph against (not exported).
import { gelu } from "@cobra-ts/core/testing";
import type { VitConfig } from "./config.js";
import { resampleAbsPosEmbed } from "./resample-pos-embed.js";
import { pseudoRandom } from "./test-helpers.js";
import { expectedVitTensors, posEmbedPrefixRows } from "./weights.js";

export type W = Record<string, Float32Array>;

/** y[t] = x[t] W^T + b for x [T, in], W [out, in]. */
function linear(x: number[][], w: Float32Array, b: Float32Array | undefined, out: number): number[][] {
  return x.map((row) =>
    Array.from({ length: out }, (_, o) =>
      row.reduce((s, v, i) => s + v * w[o * row.length + i], b ? b[o] : 0),
    ),
  );
}

function layerNorm(x: number[][], g: Float32Array, b: Float32Array): number[][] {
  return x.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-6)) * g[i] + b[i]);
  });
}

/** timm VisionTransformer.get_intermediate_layers for one image, in float64, written from the timm source. */
export function referenceFeatures(c: VitConfig, w: W, pixels: Float32Array): number[][] {
  const { embedDim: d, patchSize: p, gridSize: g, imageSize: s } = c;
  let x: number[][] = [];
  for (let gy = 0; gy < g; gy++)
    for (let gx = 0; gx < g; gx++)
      x.push(
        Array.from({ length: d }, (_, o) => {
          let acc = w["patch_embed.proj.bias"][o];
          for (let ch = 0; ch < 3; ch++)
            for (let ky = 0; ky < p; ky++)
              for (let kx = 0; kx < p; kx++)
                acc +=
                  w["patch_embed.proj.weight"][((o * 3 + ch) * p + ky) * p + kx] *
                  pixels[(ch * s + gy * p + ky) * s + gx * p + kx];
          return acc;
        }),
      );
  const pos = resampleAbsPosEmbed(w.pos_embed, d, posEmbedPrefixRows(c), g);
  const prefix: number[][] = [];
  if (c.classToken) prefix.push(Array.from(w.cls_token));
  for (let r = 0; r < c.regTokens; r++) prefix.push(Array.from(w.reg_token.subarray(r * d, (r + 1) * d)));
  const addPos = (rows: number[][]) => rows.map((row, t) => row.map((v, i) => v + pos[t * d + i]));
  x = c.noEmbedClass ? [...prefix, ...addPos(x)] : addPos([...prefix, ...x]);
  const hd = c.headDim;
  for (let blk = 0; blk <= c.featureBlock; blk++) {
    const k = (name: string) => w[`blocks.${blk}.${name}`];
    const qkv = linear(
      layerNorm(x, k("norm1.weight"), k("norm1.bias")),
      k("attn.qkv.weight"),
      k("attn.qkv.bias"),
      3 * d,
    );
    const ctx = x.map(() => new Array<number>(d).fill(0));
    for (let h = 0; h < c.numHeads; h++)
      for (let t = 0; t < x.length; t++) {
        const scores = x.map((_, u) => {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qkv[t][h * hd + i] * hd ** -0.5 * qkv[u][d + h * hd + i];
          return dot;
        });
        const m = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let u = 0; u < x.length; u++)
          for (let i = 0; i < hd; i++) ctx[t][h * hd + i] += (e[u] / z) * qkv[u][2 * d + h * hd + i];
      }
    const ls = (name: string, i: number) => (c.layerScale ? k(name)[i] : 1);
    const attn = linear(ctx, k("attn.proj.weight"), k("attn.proj.bias"), d);
    x = x.map((row, t) => row.map((v, i) => v + ls("ls1.gamma", i) * attn[t][i]));
    const hidden = linear(
      layerNorm(x, k("norm2.weight"), k("norm2.bias")),
      k("mlp.fc1.weight"),
      k("mlp.fc1.bias"),
      c.mlpHidden,
    ).map((r) => r.map(gelu));
    const mlp = linear(hidden, k("mlp.fc2.weight"), k("mlp.fc2.bias"), d);
    x = x.map((row, t) => row.map((v, i) => v + ls("ls2.gamma", i) * mlp[t][i]));
  }
  return x.slice(c.numPrefixTokens);
}

/** Random weights of the right shapes: norms near 1, gammas signed, pos_embed at a 5x5 grid. */
export function randomWeights(c: VitConfig, nativeGrid: number): W {
  const w: W = {};
  let seed = 1;
  for (const [key, shape] of expectedVitTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? n / shape[0] : 1;
    const v = pseudoRandom(n, seed++, key.endsWith("gamma") ? 0.5 : 1 / Math.sqrt(fanIn));
    w[key] = key.includes("norm") && key.endsWith("weight") ? v.map((x) => 1 + 0.2 * x) : v;
  }
  w.pos_embed = pseudoRandom((posEmbedPrefixRows(c) + nativeGrid ** 2) * c.embedDim, 99, 0.5);
  return w;
}

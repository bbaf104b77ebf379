import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { numel } from "../tensor.js";
import { SafetensorsFile } from "./safetensors.js";
import { FIXTURES } from "./test-utils.js";
import { TorchCheckpoint } from "./torch/checkpoint.js";

const manifest = JSON.parse(readFileSync(join(FIXTURES, "expected/manifest.json"), "utf8"));
const llm = manifest.dims.llm as {
  d_model: number;
  n_layer: number;
  d_state: number;
  d_conv: number;
  d_inner: number;
  dt_rank: number;
  vocab_size_padded: number;
};
const proj = manifest.dims.projector as number[];

/** Every key the fixture README lists for the Cobra checkpoint, with the shape the architecture implies. */
function expectedCobraShapes(): Map<string, number[]> {
  const { d_model: D, d_inner: E, d_state: N, d_conv: K, dt_rank: R, vocab_size_padded: V, n_layer: L } = llm;
  const m = new Map<string, number[]>();
  for (const [i, j] of [
    [0, 1],
    [2, 2],
    [4, 3],
  ]) {
    m.set(`model.projector.projector.${i}.weight`, [proj[j], proj[j - 1]]);
    m.set(`model.projector.projector.${i}.bias`, [proj[j]]);
  }
  const lm = "model.llm_backbone.llm.";
  m.set(`${lm}backbone.embedding.weight`, [V, D]);
  for (let i = 0; i < L; i++) {
    const p = `${lm}backbone.layers.${i}.`;
    m.set(`${p}norm.weight`, [D]);
    m.set(`${p}mixer.A_log`, [E, N]);
    m.set(`${p}mixer.D`, [E]);
    m.set(`${p}mixer.in_proj.weight`, [2 * E, D]);
    m.set(`${p}mixer.conv1d.weight`, [E, 1, K]);
    m.set(`${p}mixer.conv1d.bias`, [E]);
    m.set(`${p}mixer.x_proj.weight`, [R + 2 * N, E]);
    m.set(`${p}mixer.dt_proj.weight`, [E, R]);
    m.set(`${p}mixer.dt_proj.bias`, [E]);
    m.set(`${p}mixer.out_proj.weight`, [D, E]);
  }
  m.set(`${lm}backbone.norm_f.weight`, [D]);
  m.set(`${lm}lm_head.weight`, [V, D]);
  return m;
}

describe("TorchCheckpoint on the cobra-tiny checkpoint", () => {
  const path = join(FIXTURES, "release/cobra/checkpoints/latest-checkpoint.pt");
  let ckpt: TorchCheckpoint;
  beforeAll(async () => {
    ckpt = await TorchCheckpoint.open(path);
  });
  afterAll(() => ckpt.close());

  it("finds the inner folder that is not archive/", () => {
    expect(ckpt.prefix).toBe("step-000000-epoch-00-loss=inf");
  });

  it("lists every expected key with its shape and dtype, and nothing else", () => {
    const expected = expectedCobraShapes();
    expect(expected.size).toBe(49);
    expect(ckpt.keys().sort()).toEqual([...expected.keys()].sort());
    for (const [key, shape] of expected) expect(ckpt.info(key), key).toEqual({ dtype: "F32", shape });
  });

  it("reads every tensor with the right shape, F32 data of the right length, finite values", async () => {
    for (const key of ckpt.keys()) {
      const t = await ckpt.read(key);
      expect(t.dtype).toBe("F32");
      expect(t.shape).toEqual(ckpt.info(key).shape);
      expect(t.data).toBeInstanceOf(Float32Array);
      expect(t.data.length).toBe(numel(t.shape));
      expect((t.data as Float32Array).every(Number.isFinite), key).toBe(true);
    }
  });

  it("49 tensors in 48 storages: lm_head and the embedding share one storage and equal bytes", async () => {
    expect(ckpt.keys().length).toBe(49);
    expect(ckpt.storageCount).toBe(48);
    const head = "model.llm_backbone.llm.lm_head.weight";
    const emb = "model.llm_backbone.llm.backbone.embedding.weight";
    const a = ckpt.location(head);
    const b = ckpt.location(emb);
    expect(a.entry).toBe(`${ckpt.prefix}/data/6`);
    expect(b).toEqual(a);
    const [x, y] = await Promise.all([ckpt.read(head), ckpt.read(emb)]);
    expect(
      Buffer.from((x.data as Float32Array).buffer).equals(Buffer.from((y.data as Float32Array).buffer)),
    ).toBe(true);
    // The two share bytes but not memory: callers may mutate one without the other changing.
    expect(x.data === y.data).toBe(false);
  });

  it("treats size-1 dims with odd strides (conv1d [E,1,4] stride (4,4,1)) as contiguous", () => {
    const loc = ckpt.location("model.llm_backbone.llm.backbone.layers.0.mixer.conv1d.weight");
    expect(loc.stride).toEqual([4, 4, 1]);
    expect(loc.contiguous).toBe(true);
  });

  it("values agree with the reference: the projector read from the .pt reproduces expected projected/*", async () => {
    const expected = await SafetensorsFile.open(join(FIXTURES, "expected/tensors.safetensors"));
    try {
      const w = async (k: string) => (await ckpt.read(`model.projector.projector.${k}`)).data as Float32Array;
      const [w0, b0, w2, b2, w4, b4] = await Promise.all(
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"].map(w),
      );
      for (const image of ["astronaut", "chelsea", "coffee", "gray", "rocket", "synthetic_rgba"]) {
        const dino = (await expected.read(`features/${image}/dino`)).data as Float32Array;
        const siglip = (await expected.read(`features/${image}/siglip`)).data as Float32Array;
        const want = (await expected.read(`projected/${image}`)).data as Float32Array;
        const rows = 729;
        const x = new Float64Array(rows * proj[0]);
        for (let r = 0; r < rows; r++) {
          x.set(dino.subarray(r * 32, r * 32 + 32), r * proj[0]);
          x.set(siglip.subarray(r * 24, r * 24 + 24), r * proj[0] + 32);
        }
        const h1 = linear(x, rows, w0, b0, proj[0], proj[1]).map(gelu);
        const h2 = linear(h1, rows, w2, b2, proj[1], proj[2]).map(gelu);
        const out = linear(h2, rows, w4, b4, proj[2], proj[3]);
        let maxDiff = 0;
        for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - want[i]));
        expect(maxDiff, image).toBeLessThan(1e-4);
      }
    } finally {
      await expected.close();
    }
  });
});

describe("TorchCheckpoint on the open_clip SigLIP .bin", () => {
  it("has the vision tower under visual.trunk. plus 12 non-trunk keys", async () => {
    const ckpt = await TorchCheckpoint.open(join(FIXTURES, "release/siglip/open_clip_pytorch_model.bin"));
    try {
      expect(ckpt.prefix).toBe("open_clip_pytorch_model");
      const keys = ckpt.keys();
      const trunk = keys.filter((k) => k.startsWith("visual.trunk."));
      const other = keys.filter((k) => !k.startsWith("visual.trunk."));
      expect(other.length).toBe(12);
      expect(other).toEqual(expect.arrayContaining(["logit_scale", "logit_bias"]));
      expect(other.every((k) => k.startsWith("text.") || k.startsWith("logit_"))).toBe(true);
      const { embed_dim: C, depth, mlp_hidden: H } = manifest.dims.siglip;
      // patch_embed (2) + pos_embed + 12 per block + final norm (2) + attn_pool (13)
      expect(trunk.length).toBe(2 + 1 + 12 * depth + 2 + 13);
      expect(ckpt.info("visual.trunk.pos_embed")).toEqual({ dtype: "F32", shape: [1, 729, C] });
      expect(ckpt.info("visual.trunk.patch_embed.proj.weight").shape).toEqual([C, 3, 14, 14]);
      expect(ckpt.info("visual.trunk.blocks.0.attn.qkv.weight").shape).toEqual([3 * C, C]);
      expect(ckpt.info("visual.trunk.blocks.3.mlp.fc1.weight").shape).toEqual([H, C]);
      expect(ckpt.info("visual.trunk.attn_pool.latent").shape).toEqual([1, 1, C]);
      // 0-d tensors (scalars) have shape [] and one element.
      const scale = await ckpt.read("logit_scale");
      expect(scale.shape).toEqual([]);
      expect(scale.data.length).toBe(1);
      expect(ckpt.storageCount).toBe(keys.length);
    } finally {
      await ckpt.close();
    }
  });
});

function linear(
  x: ArrayLike<number>,
  rows: number,
  w: Float32Array,
  b: Float32Array,
  inDim: number,
  outDim: number,
): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = s;
    }
  return y;
}

/** Exact (erf) GELU; erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), plenty for a 1e-4 check. */
function gelu(x: number): number {
  const z = x / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * Math.abs(z));
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = Math.sign(z) * (1 - poly * Math.exp(-z * z));
  return 0.5 * x * (1 + erf);
}

import { MemoryWeights } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { VitEncoder } from "../encoders/vit-encoder.js";
import { resolveVitConfig } from "./config.js";
import { randomWeights, referenceFeatures } from "./reference-forward.js";
import { maxAbs, maxAbsDiff, pseudoRandom } from "./test-helpers.js";
import { expectedVitTensors } from "./weights.js";

describe("ViT graph vs a plain float64 reference of timm's forward", () => {
  const cases: [string, string, Record<string, unknown>][] = [
    [
      "DINOv2 without registers (pos_embed covers cls), no qkv bias",
      "vit_small_patch14_dinov2",
      { qkv_bias: false },
    ],
    ["DINOv2 with registers (no_embed_class)", "vit_small_patch14_reg4_dinov2", {}],
    ["SigLIP (no prefix tokens, no LayerScale)", "vit_so400m_patch14_siglip_384", {}],
  ];
  for (const [title, arch, extra] of cases)
    it(title, async () => {
      const c = resolveVitConfig(
        arch,
        { embed_dim: 16, depth: 3, num_heads: 2, mlp_ratio: 2.5, ...extra },
        { imageSize: 60, featureBlock: 2 },
      );
      expect(c.gridSize).toBe(4);
      const w = randomWeights(c, 5);
      const shapes = new Map([...expectedVitTensors(c), ["pos_embed", [1, w.pos_embed.length / 16, 16]]]);
      const source = new MemoryWeights(
        Object.fromEntries([...shapes].map(([k, shape]) => [k, { shape, data: w[k] }])),
      );
      const encoder = await VitEncoder.fromWeights(c, source, "test", { threads: 1 });
      const a = pseudoRandom(3 * 60 * 60, 7, 2);
      const b = pseudoRandom(3 * 60 * 60, 8, 2);
      const batch = new Float32Array(a.length * 2);
      batch.set(a);
      batch.set(b, a.length);
      const got = await encoder.encode([batch]);
      await encoder.release();
      expect(got.shape).toEqual([2, 16, 16]);
      const ref = Float64Array.from([...referenceFeatures(c, w, a), ...referenceFeatures(c, w, b)].flat());
      const rel = maxAbsDiff(got.data, ref) / maxAbs(ref);
      console.log(`${arch}: rel ${rel.toExponential(3)}`);
      expect(rel).toBeLessThan(1e-5);
    });
});

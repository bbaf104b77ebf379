import type { SafetensorsFile } from "@cobra-ts/core/node";

/** fused = cat(dino, siglip) on the feature axis, per patch (the fixture stores the two halves). */
export async function fusedFeatures(expected: SafetensorsFile, image: string): Promise<Float32Array> {
  const dino = await expected.read(`features/${image}/dino`);
  const siglip = await expected.read(`features/${image}/siglip`);
  const [, n, a] = dino.shape;
  const b = siglip.shape[2];
  const out = new Float32Array(n * (a + b));
  for (let p = 0; p < n; p++) {
    out.set((dino.data as Float32Array).subarray(p * a, (p + 1) * a), p * (a + b));
    out.set((siglip.data as Float32Array).subarray(p * b, (p + 1) * b), p * (a + b) + a);
  }
  return out;
}

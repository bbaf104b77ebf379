// Which reduced-precision parts run on onnxruntime-web's WebGPU provider, in headless Chromium on a software
// adapter (SwiftShader): the fixture converted at q8, q4 and fp16 (towers, projector; the LM stays fp32 there),
// each part loaded on WebGPU and fed the inputs the same part got on WASM (onnxruntime's CPU kernels in the page:
// fp32 on the dequantized weights), its output compared with WASM's. The LM at fp16 and q4f16 (the other parts
// fp32) is also checked on WASM against the fp32 LM of the same weights. The LM and projector run by default; the
// towers take about two minutes each on SwiftShader, so they run with COBRA_WEBGPU_VISION=1. Skipped (with a
// message) where /usr/bin/chromium is absent. The README's dtype table says what this finds.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../../src/convert/convert.js";
import type { PartDtypes } from "../../src/convert/part-dtypes.js";
import { CASES, imagePath, RELEASE_SOURCES } from "../fixture.js";
import { CHROMIUM, type ChromiumPage, haveChromium, openChromiumPage } from "./chromium-page.js";

if (!haveChromium)
  console.warn(`SKIPPED WebGPU dtypes in Chromium: ${CHROMIUM} not found (apt-get install -y chromium)`);
const VISION = process.env.COBRA_WEBGPU_VISION === "1";
if (haveChromium && !VISION)
  console.warn("SKIPPED the towers on WebGPU (about 2 min each on SwiftShader): set COBRA_WEBGPU_VISION=1");

const FOLDERS: Record<string, PartDtypes> = {
  q8: { vision: "q8", projector: "q8", lm: "q8" },
  q4: { vision: "q4", projector: "q4", lm: "q4" },
  fp16: { vision: "fp16", projector: "fp16", lm: "fp32" },
  "lm-fp16": { vision: "fp32", projector: "fp32", lm: "fp16" },
  "lm-q4f16": { vision: "fp32", projector: "fp32", lm: "q4f16" },
};
/** The folders whose towers and projector are fp32: only their LM is checked. */
const LM_ONLY = new Set(["lm-fp16", "lm-q4f16"]);
type Part = keyof PartDtypes;
const c = CASES[0];
const IDS = c.greedy_ids.slice(0, 4);

/** Where a part is loaded from and run: a served folder, a backend. */
interface Side {
  folder: string;
  backend: "wasm" | "webgpu";
}

/** One part on one side against the same part on a reference side, on the same inputs. */
interface PartCheck {
  /** ||side - reference|| / ||reference|| over the part's outputs (the LM: prefill's and one step's logits). */
  relRms: number;
  maxAbs: number;
  /** The LM: the same argmax at prefill and at the step. */
  sameArgmax: boolean;
}

describe.skipIf(!haveChromium)(
  "reduced-precision parts on onnxruntime-web WebGPU (headless Chromium)",
  () => {
    let work = "";
    let chromium: ChromiumPage;
    /** Whether the adapter has fp16 shaders, which q4f16's float16 MatMulNBits and Casts need. */
    let shaderF16 = false;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), "cobra-webgpu-dtypes-"));
      const served = new Map<string, Uint8Array>();
      for (const [name, dtypes] of Object.entries(FOLDERS)) {
        const out = join(work, name);
        await convertRelease(RELEASE_SOURCES, { out, dtypes });
        for (const file of await readdir(out))
          served.set(`/${name}/${file}`, await readFile(join(out, file)));
      }
      served.set("/image", await readFile(imagePath(c.image)));
      chromium = await openChromiumPage(served, { webgpu: true });
      const found = await chromium.page.evaluate(async () => {
        // biome-ignore lint/suspicious/noExplicitAny: navigator.gpu is not in TypeScript's DOM types here
        const adapter = await (navigator as any).gpu?.requestAdapter();
        return adapter
          ? {
              name: `${adapter.info.vendor} ${adapter.info.architecture}`,
              f16: adapter.features.has("shader-f16"),
            }
          : null;
      });
      console.log(`WebGPU adapter: ${found?.name} (shader-f16: ${found?.f16})`);
      expect(found, "Chromium found no WebGPU adapter").not.toBeNull();
      shaderF16 = found?.f16 ?? false;
    }, 300_000);
    afterAll(async () => {
      await chromium?.close();
      await rm(work, { recursive: true, force: true });
    });

    /**
     * Loads `part` on `side` and, with every other part, on `reference`; runs both on the reference's inputs;
     * compares.
     */
    const check = (part: Part, side: Side, reference: Side): Promise<PartCheck> =>
      chromium.page.evaluate(
        async ({ part, side, reference, ids }) => {
          // biome-ignore lint/suspicious/noExplicitAny: the bundled entry on window
          const { Cobra, urlReader, decodeImageBrowser } = (window as any).cobra;
          const reader = (s: Side) => urlReader(`${location.origin}/${s.folder}/`);
          const slot = { vision: "encoder", projector: "projector", lm: "lm" }[part];
          const ref = await Cobra.load(reader(reference), { backend: reference.backend, wasmPaths: "/ort/" });
          const others = { ...ref.parts };
          delete others[slot];
          const tested = await Cobra.load(reader(side), {
            backend: side.backend,
            parts: others,
            wasmPaths: "/ort/",
          });
          try {
            // biome-ignore lint/suspicious/noExplicitAny: parts of a loaded model
            let run: (parts: any) => Promise<Float32Array[]>;
            if (part === "vision") {
              const rgb = await decodeImageBrowser(await (await fetch("/image")).blob());
              run = async (p) => [(await p.encoder.encode(rgb)).features.data];
            } else {
              // The projector's input: random features of the encoder's shape (the tower is not what is checked).
              const [patches, dim] = [ref.parts.encoder.numPatches, ref.parts.encoder.featureDim];
              const features = new Float32Array(patches * dim).map((_, i) => Math.sin(i * 0.37) * 2);
              const input = { shape: [1, patches, dim], data: features };
              if (part === "projector") run = async (p) => [(await p.projector.project(input)).data];
              else {
                const rows = await ref.parts.projector.project(input);
                run = async (p) => {
                  const pre = await p.lm.prefill({ prefixEmbeds: rows, ids });
                  const step = await p.lm.step(ids[0], pre.state);
                  return [pre.logits.data, step.logits.data];
                };
              }
            }
            const [a, b] = [await run(tested.parts), await run(ref.parts)];
            let [d2, r2, maxAbs] = [0, 0, 0];
            for (const [k, x] of a.entries())
              for (let i = 0; i < x.length; i++) {
                const d = x[i] - b[k][i];
                d2 += d * d;
                r2 += b[k][i] * b[k][i];
                maxAbs = Math.max(maxAbs, Math.abs(d));
              }
            const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);
            return {
              relRms: Math.sqrt(d2 / r2),
              maxAbs,
              sameArgmax: a.every((x, k) => argmax(x) === argmax(b[k])),
            };
          } finally {
            await tested.parts[slot].release?.();
            await ref.release();
          }
        },
        { part, side, reference, ids: IDS },
      );

    // Bounds, from what was measured (SwiftShader, onnxruntime-web 1.30). Float weights (fp32, fp16 behind a Cast)
    // and the quantized projector: WebGPU equals WASM to float32 summation order (measured 2-5e-7). The quantized
    // towers and LM: WebGPU's MatMulNBits does not compute what WASM's does (WASM: fp32 on the dequantized
    // weights; measured 2.5e-3 for the towers, 2.8e-2 (q8) and 3.4e-2 (q4) for the LM's logits, the size of the
    // CPU's int8-activation rounding), so those bounds are 4x the measured drift and the greedy token must agree.
    const bound = (part: Part, dtype: string): number =>
      dtype === "fp32" || dtype === "fp16" || part === "projector" ? 1e-5 : part === "vision" ? 1e-2 : 0.15;
    for (const [folder, dtypes] of Object.entries(FOLDERS))
      for (const part of LM_ONLY.has(folder) ? (["lm"] as const) : (["vision", "projector", "lm"] as const))
        it.skipIf(part === "vision" && !VISION)(
          `${part} at ${dtypes[part]} (${folder} folder) runs on WebGPU, near WASM`,
          async (ctx) => {
            if (dtypes[part] === "q4f16" && !shaderF16) {
              console.warn(`SKIPPED ${part} at q4f16 on WebGPU: the adapter has no shader-f16`);
              ctx.skip();
            }
            const r = await check(part, { folder, backend: "webgpu" }, { folder, backend: "wasm" });
            console.log(
              `WebGPU vs WASM, ${part} ${dtypes[part]}: rel RMS ${r.relRms.toExponential(2)}, max abs ${r.maxAbs.toExponential(2)}, same argmax ${r.sameArgmax}`,
            );
            expect(r.relRms).toBeLessThan(bound(part, dtypes[part]));
            expect(r.sameArgmax).toBe(true);
          },
          600_000,
        );

    // The LM stored at fp16 / q4f16 on WASM, against the LM of the same weights before the float16 rounding: the
    // fp32 LM (the fp16 folder's) for fp16, the q4 LM (same 4-bit codes, fp32 scales) for q4f16. Bounds: 4x the
    // drift measured (onnxruntime-web 1.30).
    for (const [folder, reference, bound] of [
      ["lm-fp16", "fp16", 3e-3],
      ["lm-q4f16", "q4", 4e-3],
    ] as const) {
      const [dtype, refDtype] = [FOLDERS[folder].lm, FOLDERS[reference].lm];
      it(`lm at ${dtype} runs on WASM, near the ${refDtype} LM`, async () => {
        const r = await check("lm", { folder, backend: "wasm" }, { folder: reference, backend: "wasm" });
        console.log(
          `WASM ${dtype} LM vs WASM ${refDtype} LM: rel RMS ${r.relRms.toExponential(2)}, max abs ${r.maxAbs.toExponential(2)}, same argmax ${r.sameArgmax}`,
        );
        expect(r.relRms).toBeLessThan(bound);
        expect(r.sameArgmax).toBe(true);
      }, 600_000);
    }
  },
);

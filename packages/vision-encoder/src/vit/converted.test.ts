import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linearQuantizationFor, ModelFormatError } from "@cobra-ts/core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENCODERS, fixturePath, imageSize } from "../../test/fixtures.js";
import { openConvertedVitTensors } from "./converted.js";
import { openVitRelease } from "./release.js";
import { writeVitModel } from "./write-model.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vit-converted-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("openConvertedVitTensors", () => {
  it.each(ENCODERS)(
    "%s: an fp32 tower graph writes the same q8 / fp16 graph as the release",
    async (name) => {
      const release = await openVitRelease(fixturePath(`release/${name}`), { imageSize: imageSize() });
      try {
        await writeVitModel(dir, `${name}.onnx`, release.config, release.weights);
        const tower = { name, graph: `${name}.onnx`, vit: release.config };
        const converted = await openConvertedVitTensors(dir, tower);
        try {
          for (const dtype of ["q8", "fp16"]) {
            const quantization = linearQuantizationFor(dtype);
            const [a, b] = [`${name}-${dtype}-a.onnx`, `${name}-${dtype}-b.onnx`];
            await writeVitModel(dir, a, release.config, release.weights, { quantization });
            await writeVitModel(dir, b, release.config, converted, { quantization });
            for (const suffix of ["", ".data"]) {
              const [x, y] = await Promise.all([a, b].map((f) => readFile(join(dir, f + suffix))));
              // The graph names its data file: compare with that name swapped.
              const same = Buffer.from(y.toString("latin1").replaceAll(b, a), "latin1").equals(x);
              expect(same, `${dtype}${suffix}`).toBe(true);
            }
          }
          // A quantized graph is refused, whatever config comes with it; so is a config the graph does not fit.
          await expect(
            openConvertedVitTensors(dir, { ...tower, graph: `${name}-q8-a.onnx` }),
          ).rejects.toThrow(/stored as q8/);
          const wider = { ...tower, vit: { ...release.config, mlpHidden: release.config.mlpHidden + 1 } };
          await expect(openConvertedVitTensors(dir, wider)).rejects.toThrow(ModelFormatError);
          await expect(openConvertedVitTensors(dir, wider)).rejects.toThrow(
            /mlp\.fc1\.weight_t" should be float32/,
          );
        } finally {
          await converted.close();
        }
      } finally {
        await release.weights.close();
      }
    },
  );
});

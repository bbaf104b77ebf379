import { InvalidArgumentError, type TensorToWrite, writeSafetensors } from "@cobra-ts/core/node";
import type { Command, Option } from "commander";
import { Cobra } from "../runtime/load-node.js";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";

const f32 = (data: Float32Array, shape: readonly number[]): TensorToWrite => ({
  dtype: "F32",
  shape: [...shape],
  data,
});

export function featuresCommand(program: Command, io: CliIO, backend: () => Option): void {
  const cmd = program
    .command("features")
    .description("write an image's pixels, vision features and projected rows to a safetensors file")
    .requiredOption("--model <dir>", "converted model folder")
    .requiredOption("--image <file>", "image file or http(s) URL")
    .requiredOption("--out <file.safetensors>", "output file")
    .addOption(backend());
  addModelOptions(cmd).action(async (opts) => {
    if (!String(opts.out).endsWith(".safetensors"))
      throw new InvalidArgumentError("--out must end in .safetensors");
    const cobra = await Cobra.load(opts.model, loadOptions(opts));
    try {
      const e = await cobra.encodeImage(opts.image);
      const tensors: Record<string, TensorToWrite> = {};
      for (const p of e.pixels) {
        const size = Math.sqrt(p.data.length / 3); // [1, 3, S, S]
        tensors[`pixels/${p.name}`] = f32(p.data, [1, 3, size, size]);
      }
      for (const t of e.towers) tensors[`features/${t.name}`] = f32(t.features.data, t.features.shape);
      if (e.towers.length === 0)
        tensors[`features/${e.pixels[0].name}`] = f32(e.features.data, e.features.shape);
      tensors["features/fused"] = f32(e.features.data, e.features.shape);
      tensors.projected = f32(e.projected.data, e.projected.shape);
      await writeSafetensors(opts.out, tensors);
      io.stderr(`wrote ${Object.keys(tensors).length} tensors to ${opts.out}\n`);
    } finally {
      await cobra.release();
    }
  });
}

import { ModelFormatError } from "@cobra-ts/core";
import type { ManifestFile } from "../manifest.js";

/** Checks every file the manifest lists against what `statSize` finds: a missing or resized file is caught before onnxruntime sees it. */
export async function checkFileSizes(
  files: readonly ManifestFile[],
  statSize: (path: string) => Promise<number | null>,
  where: string,
): Promise<void> {
  for (const f of files) {
    const size = await statSize(f.path);
    if (size === null)
      throw new ModelFormatError(`${where} lists ${f.path}, which is missing: convert the model again`);
    if (size !== f.size)
      throw new ModelFormatError(
        `${where} lists ${f.path} with ${f.size} bytes but the file has ${size}: it is truncated or replaced`,
      );
  }
}

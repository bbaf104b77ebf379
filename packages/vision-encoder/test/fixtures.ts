/** Paths of the shared cobra-tiny oracle fixtures and a reader for their tensors. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile } from "@cobra-ts/core";

/** The repository's sibling ../shared/fixtures (or $COBRA_FIXTURES), set `cobra-tiny`. */
export const FIXTURES = join(
  process.env.COBRA_FIXTURES ?? join(import.meta.dirname, "../../../../shared/fixtures"),
  "cobra-tiny",
);
export const IMAGES = join(FIXTURES, "images");
export const TENSORS = join(FIXTURES, "expected/tensors.safetensors");
export const haveFixtures = existsSync(TENSORS);

/** Reads `pixels/<image>/<encoder>` (uint8 [1, 3, 384, 384]). */
export async function expectedPixels(image: string, encoder: "dino" | "siglip"): Promise<Uint8Array> {
  const file = await SafetensorsFile.open(TENSORS);
  try {
    const t = await file.read(`pixels/${image}/${encoder}`);
    if (t.dtype !== "U8" || t.shape.join("x") !== "1x3x384x384")
      throw new Error(`unexpected pixels tensor ${t.dtype} ${t.shape}`);
    return t.data as Uint8Array;
  } finally {
    await file.close();
  }
}

/** Keys of the form pixels/<image>/<encoder> present in the fixtures. */
export async function pixelKeys(): Promise<string[]> {
  const file = await SafetensorsFile.open(TENSORS);
  try {
    return file.keys().filter((k) => k.startsWith("pixels/"));
  } finally {
    await file.close();
  }
}

/**
 * The oracle fixture set under test (found by @cobra-ts/core/testing: $COBRA_FIXTURES / $COBRA_FIXTURE_SET,
 * default cobra-tiny) and what this package's tests read from it. Everything set-specific (image names, which
 * images have `pixels/*`, dims, the resize strategy, the SigLIP release format) is read from the set's own files.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { SafetensorsFile } from "@cobra-ts/core/node";
import { fixtureSet } from "@cobra-ts/core/testing";
import type { EncoderKind } from "../src/preprocess/encoders.js";
import { RESIZE_STRATEGIES, type ResizeStrategy } from "../src/preprocess/strategies.js";

export const FIXTURES = fixtureSet();
export const IMAGES = join(FIXTURES, "images");
export const TENSORS = join(FIXTURES, "expected/tensors.safetensors");
export const haveFixtures = existsSync(TENSORS);

/** A path inside the fixture set. */
export function fixturePath(relative: string): string {
  return join(FIXTURES, relative);
}

export const ENCODERS = ["dino", "siglip"] as const satisfies readonly EncoderKind[];

/** One entry of expected/manifest.json `images`. */
export interface FixtureImage {
  name: string;
  file: string;
  width: number;
  height: number;
  /** PIL mode of the file (RGB, RGBA, L, P, I, CMYK, ...). */
  mode: string;
  /** PIL format (PNG, JPEG, ...). */
  format: string;
}

interface VitDims {
  patch_size: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_hidden: number;
  feature_block_index: number;
  class_token?: boolean;
  reg_tokens?: number;
  no_embed_class?: boolean;
  num_prefix_tokens?: number;
  init_values?: number | null;
  global_pool?: string;
  native_img_size?: number;
  native_grid?: number;
}

export interface Manifest {
  images: FixtureImage[];
  image_resize_strategy?: string;
  siglip_format?: string;
  dims: { dino: VitDims; siglip: VitDims; fused_dim: number; num_patches: number };
  pixels?: {
    shape?: number[];
    normalization?: Record<EncoderKind, { mean: number[]; std: number[] }>;
  };
}

const readJson = (relative: string) => JSON.parse(readFileSync(fixturePath(relative), "utf8"));

let manifestCache: Manifest | undefined;
/** expected/manifest.json. */
export function manifest(): Manifest {
  manifestCache ??= readJson("expected/manifest.json") as Manifest;
  return manifestCache;
}

/** Every image of the set (empty without fixtures, so suites can be declared and skipped). */
export function fixtureImages(): FixtureImage[] {
  return haveFixtures ? manifest().images : [];
}

export function fixtureImage(name: string): FixtureImage {
  const image = manifest().images.find((i) => i.name === name);
  if (!image) throw new Error(`the fixture set lists no image named ${name}`);
  return image;
}

export function imagePath(name: string): string {
  return join(IMAGES, fixtureImage(name).file);
}

/** release/cobra/config.json `model`. */
function cobraModelConfig(): { image_resize_strategy: string; vision_backbone_id: string } {
  return readJson("release/cobra/config.json").model;
}

/** The `image_resize_strategy` the set's Cobra config declares (and the oracle's pixels were made with). */
export function resizeStrategy(): ResizeStrategy {
  const strategy = cobraModelConfig().image_resize_strategy;
  if (!(RESIZE_STRATEGIES as readonly string[]).includes(strategy))
    throw new Error(`release/cobra/config.json: unknown image_resize_strategy ${strategy}`);
  return strategy as ResizeStrategy;
}

/** The square image side the encoders see: `<n>px` of the Cobra config's `vision_backbone_id`. */
export function imageSize(): number {
  const id = cobraModelConfig().vision_backbone_id;
  const m = /-(\d+)px$/.exec(id);
  if (!m) throw new Error(`release/cobra/config.json: vision_backbone_id ${id} names no image size`);
  return Number(m[1]);
}

/** Pixel normalization the oracle used per encoder (manifest `pixels.normalization`). */
export function normalization(encoder: EncoderKind): { mean: number[]; std: number[] } {
  const n = manifest().pixels?.normalization?.[encoder];
  if (!n) throw new Error(`expected/manifest.json has no pixels.normalization.${encoder}`);
  return n;
}

/** The release folder of one tower and its format, told by the files it holds (open_clip or timm-native). */
export function vitReleaseFormat(encoder: EncoderKind): "open_clip" | "timm" {
  const dir = fixturePath(`release/${encoder}`);
  if (existsSync(join(dir, "open_clip_config.json"))) return "open_clip";
  if (existsSync(join(dir, "config.json"))) return "timm";
  throw new Error(`${dir}: neither open_clip_config.json nor config.json`);
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
}

let headerCache: Record<string, HeaderEntry> | undefined;
/** The header of expected/tensors.safetensors, read synchronously (test names are made from its keys). */
function expectedHeader(): Record<string, HeaderEntry> {
  if (headerCache) return headerCache;
  const fd = openSync(TENSORS, "r");
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const json = Buffer.alloc(Number(len.readBigUInt64LE(0)));
    readSync(fd, json, 0, json.length, 8);
    const { __metadata__: _, ...entries } = JSON.parse(json.toString("utf8"));
    headerCache = entries as Record<string, HeaderEntry>;
    return headerCache;
  } finally {
    closeSync(fd);
  }
}

/** Keys of expected/tensors.safetensors (empty without fixtures). */
export function expectedKeys(): string[] {
  return haveFixtures ? Object.keys(expectedHeader()).sort() : [];
}

/** Shape of an expected tensor, from the header. */
export function expectedShape(key: string): number[] {
  const entry = expectedHeader()[key];
  if (!entry) throw new Error(`expected/tensors.safetensors has no ${key}`);
  return entry.shape;
}

/** Keys of the form pixels/<image>/<encoder> present in the fixtures. */
export function pixelKeys(): string[] {
  return expectedKeys().filter((k) => k.startsWith("pixels/"));
}

/**
 * Images whose `pixels/<image>/<encoder>` the set stores for every encoder (cobra-tiny: some, other sets: all),
 * in manifest order.
 */
export function pixelImages(): string[] {
  const keys = new Set(pixelKeys());
  return fixtureImages()
    .map((i) => i.name)
    .filter((name) => ENCODERS.every((e) => keys.has(`pixels/${name}/${e}`)));
}

/** Reads `pixels/<image>/<encoder>` (uint8 [1, 3, size, size]). */
export async function expectedPixels(image: string, encoder: EncoderKind): Promise<Uint8Array> {
  const file = await SafetensorsFile.open(TENSORS);
  try {
    const t = await file.read(`pixels/${image}/${encoder}`);
    const size = imageSize();
    if (t.dtype !== "U8" || t.shape.join("x") !== `1x3x${size}x${size}`)
      throw new Error(`unexpected pixels tensor ${t.dtype} ${t.shape}`);
    return t.data as Uint8Array;
  } finally {
    await file.close();
  }
}

import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, FileNotFoundError, openWeights, type WeightSource } from "@cobra-ts/core/node";
import type { VitBuildOptions, VitConfig } from "./config.js";
import { vitConfigFromOpenClipConfig, vitConfigFromTimmConfig } from "./config-files.js";
import { timmTrunk, validateVitWeights } from "./weights.js";

export interface VitRelease {
  config: VitConfig;
  /** The checkpoint as stored (open_clip keys keep their `visual.trunk.` prefix; the graph strips it). */
  weights: WeightSource;
  format: "timm" | "open_clip";
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON`, { cause: e });
  }
}

async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const name of names) if (await exists(join(dir, name))) return join(dir, name);
  return undefined;
}

/**
 * Opens a released vision tower as downloaded from the hub, checked against its config before any tensor is
 * read: a timm folder (`config.json` + `model.safetensors` / `pytorch_model.bin`) or an open_clip one
 * (`open_clip_config.json` + `open_clip_pytorch_model.bin` / `open_clip_model.safetensors`). Node only.
 */
export async function openVitRelease(dir: string, options: VitBuildOptions = {}): Promise<VitRelease> {
  const timmWeights = await firstExisting(dir, ["model.safetensors", "pytorch_model.bin"]);
  const openClipWeights = await firstExisting(dir, [
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.bin",
  ]);
  let config: VitConfig;
  let weightsPath: string;
  let format: VitRelease["format"];
  if (timmWeights && (await exists(join(dir, "config.json")))) {
    config = vitConfigFromTimmConfig(await readJson(join(dir, "config.json")), options);
    [weightsPath, format] = [timmWeights, "timm"];
  } else if (openClipWeights && (await exists(join(dir, "open_clip_config.json")))) {
    config = vitConfigFromOpenClipConfig(await readJson(join(dir, "open_clip_config.json")), options);
    [weightsPath, format] = [openClipWeights, "open_clip"];
  } else {
    throw new FileNotFoundError(
      dir,
      "ViT release (config.json + model.safetensors, or open_clip_config.json + open_clip_pytorch_model.bin) in folder",
    );
  }
  const weights = await openWeights(weightsPath);
  try {
    validateVitWeights(timmTrunk(weights), config);
  } catch (e) {
    await weights.close();
    throw e;
  }
  return { config, weights, format };
}

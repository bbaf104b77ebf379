import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { DownloadError, type DownloadOptions, downloadFile } from "./download.js";

export type ReleasePart = "checkpoint" | "dino" | "siglip" | "llm";

/** The official release, by hub id, for `cobra convert --hub cobra+3b`. */
export const RELEASES: Record<string, Record<ReleasePart, string>> = {
  "cobra+3b": {
    checkpoint: "han1997/cobra/cobra+3b",
    dino: "timm/vit_large_patch14_reg4_dinov2.lvd142m",
    siglip: "timm/ViT-SO400M-14-SigLIP-384",
    llm: "xiuyul/mamba-2.8b-zephyr",
  },
};

/** Files each part needs; alternatives are tried in order (the first set whose first file exists wins). */
const PART_FILES: Record<ReleasePart, { required: string[]; optional?: string[] }[]> = {
  checkpoint: [{ required: ["config.json", "checkpoints/latest-checkpoint.pt"] }],
  dino: [{ required: ["config.json", "model.safetensors"] }],
  siglip: [
    { required: ["open_clip_config.json", "open_clip_pytorch_model.bin"] },
    { required: ["config.json", "model.safetensors"] },
  ],
  llm: [
    {
      required: ["config.json", "tokenizer.json"],
      optional: ["tokenizer_config.json", "special_tokens_map.json"],
    },
  ],
};

const HUB_ID = /^[\w.-]+\/[\w.+-]+(\/[\w.+/-]+)?$/;

/**
 * Turns a command-line source into a local folder: an existing folder is used as is; otherwise an
 * `owner/repo[/subfolder]` hub id is downloaded into the cache (resuming partial files) first.
 */
export async function resolvePart(
  part: ReleasePart,
  source: string,
  options: DownloadOptions = {},
): Promise<string> {
  if (await isDir(source)) return source;
  if (!HUB_ID.test(source)) return source; // let the reader report the missing folder by its name
  const [owner, name, ...sub] = source.split("/");
  const repo = `${owner}/${name}`;
  const prefix = sub.length ? `${sub.join("/")}/` : "";
  const alternatives = PART_FILES[part];
  for (const [i, files] of alternatives.entries()) {
    let first: string;
    try {
      first = await downloadFile(repo, prefix + files.required[0], options);
    } catch (e) {
      if (e instanceof DownloadError && /404/.test(e.message) && i < alternatives.length - 1) continue;
      throw e;
    }
    for (const f of files.required.slice(1)) await downloadFile(repo, prefix + f, options);
    for (const f of files.optional ?? [])
      await downloadFile(repo, prefix + f, options).catch((e) => {
        if (!(e instanceof DownloadError && /404/.test(e.message))) throw e;
      });
    // The folder holding the first file is the part's root (config.json sits at the top of every layout).
    return dirname(first);
  }
  throw new DownloadError(`${source} has none of the expected files for ${part}`);
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}

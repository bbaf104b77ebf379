import { type Tensor, type TensorInfo, type WeightSource, WeightsMismatchError } from "@cobra-ts/core";

/**
 * Canonical tensor names (mamba_ssm's, relative to the backbone, plus `lm_head.weight`). Whatever the source
 * calls them, the rest of the package and the converted graph's initializers use these names.
 */
export const EMBEDDING = "embedding.weight";
export const LM_HEAD = "lm_head.weight";
export const NORM_F = "norm_f";
export const MIXER_PARAMS = ["in_proj", "conv1d", "x_proj", "dt_proj", "out_proj"] as const;

/** How the tensors of one Mamba LM are named inside a weights file. */
export interface MambaWeightLayout {
  /** Key prefix of the whole LM (`model.llm_backbone.llm.` in a Cobra checkpoint, "" for state-spaces / HF). */
  root: string;
  /** Key prefix of the backbone, `${root}backbone.` (or `root` for a bare backbone file). */
  backbone: string;
  /** mamba_ssm calls the embedding `embedding`, transformers `embeddings`. */
  dialect: "mamba_ssm" | "transformers";
}

const EMBEDDING_SUFFIXES: [string, MambaWeightLayout["dialect"]][] = [
  ["embedding.weight", "mamba_ssm"],
  ["embeddings.weight", "transformers"],
];

/**
 * Finds the Mamba LM inside a weights file: a Cobra checkpoint (`model.llm_backbone.llm.backbone.*`, or
 * `llm.backbone.*` in its llm_backbone state dict), state-spaces `backbone.*`, HF `MambaForCausalLM`
 * (`backbone.embeddings`), or a bare backbone. `prefix` pins the LM root when a file holds several.
 */
export function locateMambaWeights(source: WeightSource, prefix?: string): MambaWeightLayout {
  const found: MambaWeightLayout[] = [];
  for (const key of source.keys()) {
    if (prefix !== undefined && !key.startsWith(prefix)) continue;
    for (const [suffix, dialect] of EMBEDDING_SUFFIXES) {
      if (!key.endsWith(suffix)) continue;
      const backbone = key.slice(0, key.length - suffix.length);
      if (backbone !== "" && !backbone.endsWith(".")) continue;
      const root = backbone.endsWith("backbone.") ? backbone.slice(0, -"backbone.".length) : backbone;
      found.push({ root, backbone, dialect });
    }
  }
  if (found.length === 0)
    throw new WeightsMismatchError(
      `${prefix ?? ""}backbone.embedding.weight`,
      `missing: ${source.path} holds no Mamba embedding (looked for keys ending in backbone.embedding.weight or backbone.embeddings.weight${prefix ? ` under "${prefix}"` : ""})`,
    );
  if (found.length > 1)
    throw new WeightsMismatchError(
      found.map((f) => f.backbone).join(", "),
      `${source.path} holds ${found.length} Mamba embeddings; pass the LM's key prefix to choose one`,
    );
  return found[0];
}

/**
 * A Mamba LM's tensors under canonical names, with the source's own key kept for error messages. Keys under
 * the LM root that are not part of a Mamba LM are reported by `unknownKeys`; keys outside the root (e.g. a
 * Cobra projector) belong to other components and are not this view's business.
 */
export class MambaWeights implements WeightSource {
  private readonly toSource = new Map<string, string>();
  readonly unknownKeys: string[] = [];

  constructor(
    private readonly source: WeightSource,
    readonly layout: MambaWeightLayout,
  ) {
    const embeddingKey = layout.dialect === "transformers" ? "embeddings.weight" : "embedding.weight";
    for (const key of source.keys()) {
      if (!key.startsWith(layout.root)) continue;
      let name: string | undefined;
      if (key === `${layout.root}lm_head.weight`) name = LM_HEAD;
      else if (key.startsWith(layout.backbone)) {
        const rest = key.slice(layout.backbone.length);
        name = rest === embeddingKey ? EMBEDDING : isBackboneName(rest) ? rest : undefined;
      }
      if (name === undefined || this.toSource.has(name)) this.unknownKeys.push(key);
      else this.toSource.set(name, key);
    }
  }

  /** Opens the Mamba LM found in `source` (see locateMambaWeights). */
  static from(source: WeightSource, prefix?: string): MambaWeights {
    return new MambaWeights(source, locateMambaWeights(source, prefix));
  }

  get path(): string {
    return this.source.path;
  }
  keys(): string[] {
    return [...this.toSource.keys()];
  }
  has(name: string): boolean {
    return this.toSource.has(name);
  }
  /** The key the source file uses for a canonical name (for messages); a plausible key when absent. */
  sourceKey(name: string): string {
    return (
      this.toSource.get(name) ??
      (name === LM_HEAD ? `${this.layout.root}${name}` : `${this.layout.backbone}${name}`)
    );
  }
  info(name: string): TensorInfo {
    return this.source.info(this.key(name));
  }
  read(name: string): Promise<Tensor> {
    return this.source.read(this.key(name));
  }
  close(): Promise<void> {
    return this.source.close();
  }

  private key(name: string): string {
    const key = this.toSource.get(name);
    if (key === undefined)
      throw new WeightsMismatchError(this.sourceKey(name), `missing from ${this.source.path}`);
    return key;
  }
}

const LAYER_NAME =
  /^layers\.(0|[1-9]\d*)\.(norm\.(weight|bias)|mixer\.(A_log|D|(in_proj|conv1d|x_proj|dt_proj|out_proj)\.(weight|bias)))$/;

function isBackboneName(name: string): boolean {
  return LAYER_NAME.test(name) || name === `${NORM_F}.weight` || name === `${NORM_F}.bias`;
}

import { InvalidArgumentError, ModelFormatError } from "@cobra-ts/core";
import { RESIZE_STRATEGIES, type ResizeStrategy } from "@cobra-ts/vision-encoder";
import { DTYPE_NAMES, type DtypeName } from "../../convert/part-dtypes.js";
import { type CobraManifest, SLOT_OF } from "../../manifest.js";
import { type BackendChoice, RUNTIME_PARTS, type RuntimePart } from "../../runtime/backends.js";
import { isResizeStrategy } from "../../runtime/resize-strategy.js";

/**
 * `--variant` keys about the model a run loads (read by `cobra eval run`, recorded in run.json and metrics.json
 * with the rest of the variant):
 * - `backend=cpu|wasm|webgpu`, `backend.<part>=...`: where each part runs;
 * - `dtype=<d>`, `dtype.<part>=<d>`: the dtype each part must have. A model folder holds one dtype per part, so
 *   the variant picks nothing: it checks that `--model` is the folder the ablation means (a q8 run of an fp32
 *   folder would otherwise be recorded as q8), and names the `cobra quantize` command that writes the folder it
 *   asks for;
 * - `resize=resize-naive|resize-crop|letterbox`: the vision encoder's image_resize_strategy, instead of the one
 *   the folder was converted with.
 */
export const MODEL_VARIANT_KEYS = [
  "backend",
  ...RUNTIME_PARTS.map((p) => `backend.${p}`),
  "dtype",
  ...RUNTIME_PARTS.map((p) => `dtype.${p}`),
  "resize",
];

const BACKENDS = ["cpu", "wasm", "webgpu"] as const;

export interface ModelVariant {
  backend: BackendChoice;
  /** The parts whose dtype the variant names. */
  dtypes: Partial<Record<RuntimePart, DtypeName>>;
  resize?: ResizeStrategy;
}

/** Reads (and checks the values of) the model keys of `variant`. */
export function modelVariant(variant: Readonly<Record<string, string>>): ModelVariant {
  const resize = variant.resize;
  if (resize !== undefined && !isResizeStrategy(resize))
    throw new InvalidArgumentError(
      `--variant resize=${resize}: choose one of ${RESIZE_STRATEGIES.join(", ")}`,
    );
  return { backend: perPart(variant, "backend", BACKENDS, "cpu"), dtypes: variantDtypes(variant), resize };
}

/** `key=v` for every part and `key.<part>=v` for one; the per-part value wins. */
function perPart<V extends string>(
  variant: Readonly<Record<string, string>>,
  key: string,
  values: readonly V[],
  fallback: V,
): V | Record<RuntimePart, V> {
  const check = (k: string): V => {
    const v = variant[k];
    if (!(values as readonly string[]).includes(v))
      throw new InvalidArgumentError(`--variant ${k}=${v}: choose one of ${values.join(", ")}`);
    return v as V;
  };
  const all = variant[key] === undefined ? fallback : check(key);
  if (!RUNTIME_PARTS.some((p) => variant[`${key}.${p}`] !== undefined)) return all;
  return Object.fromEntries(
    RUNTIME_PARTS.map((p) => [p, variant[`${key}.${p}`] === undefined ? all : check(`${key}.${p}`)]),
  ) as Record<RuntimePart, V>;
}

function variantDtypes(variant: Readonly<Record<string, string>>): Partial<Record<RuntimePart, DtypeName>> {
  if (variant.dtype === undefined && !RUNTIME_PARTS.some((p) => variant[`dtype.${p}`] !== undefined))
    return {};
  const dtypes = perPart(variant, "dtype", DTYPE_NAMES, "fp32");
  if (typeof dtypes !== "string") return dtypes;
  return Object.fromEntries(RUNTIME_PARTS.map((p) => [p, dtypes]));
}

/**
 * Refuses a model folder whose parts do not have the dtypes the variant names, saying what the folder has and
 * how to write the folder asked for.
 */
export function checkModelDtypes(
  manifest: Pick<CobraManifest, "parts">,
  dtypes: ModelVariant["dtypes"],
  modelDir: string,
): void {
  const wrong = RUNTIME_PARTS.flatMap((part) => {
    const want = dtypes[part];
    const has = manifest.parts[SLOT_OF[part]]?.dtype;
    if (want === undefined) return [];
    if (has === undefined)
      throw new ModelFormatError(`${modelDir} has no ${part} part, so --variant dtype.${part} cannot apply`);
    return has === want ? [] : [{ part, want, has }];
  });
  if (wrong.length === 0) return;
  const spec = (ws: typeof wrong) => ws.map((w) => `${w.part}=${w.want}`).join(",");
  const fromFp32 = wrong.filter((w) => w.has === "fp32");
  const requantized = wrong.filter((w) => w.has !== "fp32");
  const how = [
    fromFp32.length > 0
      ? `cobra quantize --model ${modelDir} --dtype ${spec(fromFp32)} --out <folder> writes its ` +
        `${fromFp32.map((w) => w.part).join(" and ")} at that dtype`
      : null,
    requantized.length > 0
      ? `cobra quantize starts from fp32 parts: run it on the fp32 folder this one came from, with --dtype ${spec(requantized)}`
      : null,
  ].filter((s) => s !== null);
  throw new InvalidArgumentError(
    `--variant asks for ${wrong.map((w) => `the ${w.part} as ${w.want}`).join(", ")}, but ${modelDir} has ` +
      `${wrong.map((w) => `its ${w.part} as ${w.has}`).join(", ")}: give --model a folder with those dtypes ` +
      `(${how.join("; ")})`,
  );
}

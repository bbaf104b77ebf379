import {
  InvalidArgumentError,
  LINEAR_DTYPES,
  type LinearQuantization,
  linearQuantizationFor,
} from "@cobra-ts/core";
import { LM_DTYPES, type LmQuantization, lmQuantizationFor } from "@cobra-ts/mamba-lm";

/** Storage types by transformers.js' names. */
export const DTYPE_NAMES = ["fp32", "fp16", "q8", "q4", "q4f16"] as const;
export type DtypeName = (typeof DTYPE_NAMES)[number];

export const PART_NAMES = ["vision", "projector", "lm"] as const;
export type PartName = (typeof PART_NAMES)[number];
export type PartDtypes = Record<PartName, DtypeName>;

/** Every part at full precision: what a conversion writes unless told otherwise. */
export const ALL_FP32: Readonly<PartDtypes> = { vision: "fp32", projector: "fp32", lm: "fp32" };

/** What each part can be written as in this version (the rest of DTYPE_NAMES is refused with this list). */
const BUILT: Record<PartName, readonly string[]> = {
  vision: LINEAR_DTYPES,
  projector: LINEAR_DTYPES,
  lm: LM_DTYPES,
};

/** What `--dtype` said: every part's dtype, and which parts it named. */
export interface DtypeSpec {
  /** fp32 for a part the spec does not name. */
  dtypes: PartDtypes;
  /** The parts given as `<part>=<dtype>`; empty when one name set every part (`--dtype q4`). */
  named: readonly PartName[];
}

/** `--dtype q4` (every part) or `--dtype lm=q4,vision=fp32` (the parts named; the others fp32). */
export function parsePartDtypes(spec: string): DtypeSpec {
  const out: PartDtypes = { ...ALL_FP32 };
  const entries = spec.split(",").map((s) => s.trim());
  const named = new Set<PartName>();
  if (entries.length === 1 && !entries[0].includes("=")) {
    const name = checkName(entries[0], "--dtype");
    for (const part of PART_NAMES) out[part] = name;
  } else {
    for (const entry of entries) {
      const [part, name, extra] = entry.split("=");
      if (extra !== undefined || name === undefined || !(PART_NAMES as readonly string[]).includes(part))
        throw new InvalidArgumentError(
          `--dtype: "${entry}" is not <part>=<dtype> with part one of ${PART_NAMES.join(", ")}`,
        );
      if (named.has(part as PartName))
        throw new InvalidArgumentError(`--dtype: the ${part} is named twice in "${spec}"`);
      named.add(part as PartName);
      out[part as PartName] = checkName(name, `--dtype ${part}`);
    }
  }
  return { dtypes: out, named: [...named] };
}

/**
 * Refuses a spec naming a part the model being written does not have (`vision=q4` for an LM-only model), which
 * would otherwise be ignored without a word. One name for every part (`--dtype q4`) is for the parts there are.
 */
export function checkNamedParts(spec: DtypeSpec, parts: readonly PartName[], what: string): void {
  const absent = spec.named.filter((p) => !parts.includes(p));
  if (absent.length > 0)
    throw new InvalidArgumentError(
      `--dtype: ${what} has no ${absent.join(" or ")} to write (it has the ${parts.join(", ")}); drop ${absent.map((p) => `${p}=${spec.dtypes[p]}`).join(", ")}`,
    );
}

/** Refuses a dtype this version cannot write for one of `parts` (the parts the model being written has). */
export function checkWritableDtypes(dtypes: PartDtypes, parts: readonly PartName[] = PART_NAMES): void {
  for (const part of parts)
    if (!BUILT[part].includes(dtypes[part]))
      throw new InvalidArgumentError(
        `--dtype: the ${part} cannot be written as ${dtypes[part]} in this version; it takes ${BUILT[part].join(", ")}` +
          (part !== "lm" && BUILT.lm.includes(dtypes[part])
            ? ` (quantize the LM alone with --dtype lm=${dtypes[part]})`
            : ""),
      );
}

/**
 * How a part is stored at `dtype` (null for fp32); `blockSize` sets the q8 / q4 blocks (defaultBlockSize when
 * absent).
 */
export function partStorage(name: "lm", dtype: string, blockSize?: number): LmQuantization | null;
export function partStorage(
  name: Exclude<PartName, "lm">,
  dtype: string,
  blockSize?: number,
): LinearQuantization | null;
export function partStorage(
  name: PartName,
  dtype: string,
  blockSize?: number,
): LmQuantization | LinearQuantization | null;
export function partStorage(name: PartName, dtype: string, blockSize?: number) {
  return name === "lm"
    ? lmQuantizationFor(dtype, { blockSize })
    : linearQuantizationFor(dtype, { blockSize });
}

/** Each block-quantized part's block size, as `blockSize` (or the default for its bits) resolves it. */
export function blockSizesOf(dtypes: PartDtypes, blockSize?: number): Partial<Record<PartName, number>> {
  const out: Partial<Record<PartName, number>> = {};
  for (const p of PART_NAMES) {
    const q = partStorage(p, dtypes[p], blockSize);
    if (q?.method === "matmul-nbits") out[p] = q.blockSize;
  }
  return out;
}

/**
 * Refuses `--block-size` where no part of `parts` is block-quantized (it would be ignored without a word) and a
 * block size the writers refuse, before anything is read or written.
 */
export function checkBlockSize(dtypes: PartDtypes, parts: readonly PartName[], blockSize?: number): void {
  if (blockSize === undefined) return;
  if (!parts.some((p) => dtypes[p].startsWith("q")))
    throw new InvalidArgumentError(
      `--block-size ${blockSize}: no part is written as q8, q4 or q4f16 here (it sets their quantization blocks)`,
    );
  for (const p of parts) partStorage(p, dtypes[p], blockSize);
}

function checkName(name: string, what: string): DtypeName {
  if (!(DTYPE_NAMES as readonly string[]).includes(name))
    throw new InvalidArgumentError(
      `${what}: unknown dtype "${name}"; the names are ${DTYPE_NAMES.join(", ")}`,
    );
  return name as DtypeName;
}

import {
  type Backend,
  checkScanForm,
  f32,
  InvalidArgumentError,
  inspectModel,
  type LanguageModel,
  LM_SESSION,
  ModelFormatError,
  type ModelInspection,
  type OpenedSession,
  type OrtModule,
  type OrtTensor,
  openSession,
  type RuntimeChoice,
  type SessionOptions,
  type Tensor,
  throwIfAborted,
} from "@cobra-ts/core";
import type { ScanKernel } from "@cobra-ts/scan";
import { LM_FORMAT_VERSION } from "../graph/convert.js";
import {
  ALL_LOGITS,
  convStateIn,
  convStateOut,
  INPUTS_EMBEDS,
  LOGITS,
  ssmStateIn,
  ssmStateOut,
} from "../graph/io-names.js";
import { readScanRegions, type ScanForm } from "../graph/scan-regions.js";
import { LM_HEAD } from "../weights/mamba-weights.js";
import { EmbeddingTable } from "./embedding-table.js";
import { type CheckedInput, checkForwardInput, type ForwardInput, type TokenIds } from "./inputs.js";
import { KernelScanSession, type LmSession } from "./kernel-scan-session.js";
import { MambaState } from "./mamba-state.js";
import { describeDims, type LanguageModelDims, sameDims } from "./state-dims.js";

/** A converted model given as bytes (browsers, tests): the graph and, if it has any, its external data files. */
export interface LanguageModelBytes {
  model: Uint8Array;
  externalData?: SessionOptions["externalData"];
}

/** A graph as a loader hands it over: bytes to check, what onnxruntime opens, and its token embedding. */
export interface GraphToOpen {
  bytes: Uint8Array;
  /** A path (Node: onnxruntime reads the external data beside it) or the bytes again. */
  model: string | Uint8Array;
  externalData?: SessionOptions["externalData"];
  /** Node: the folder of a graph given by path (its external data files are there). */
  folder?: string;
  embeddings: (inspection: ModelInspection) => EmbeddingTable | Promise<EmbeddingTable>;
}

export interface LoadProgress {
  stage: "reading" | "creating-session" | "ready";
  /** 0..1 over the whole load. */
  fraction: number;
}

export interface LoadOptions extends RuntimeChoice {
  threads?: number;
  /**
   * Longest run of positions per graph call (default 512). Longer inputs are run in chunks that carry the
   * state, which is exact and bounds the scan's time-parallel temporaries (3 x positions x d_inner x d_state
   * floats per layer: 0.5 GB for Mamba-2.8B at 512).
   */
  chunkSize?: number;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /**
   * Where the selective scans run: "graph" (default: inside the one onnxruntime graph, its Scan op) or
   * "kernel" (the graph runs in segments between the scans, and a @cobra-ts/scan kernel runs each scan; the
   * graph must have been converted by a cobra-ts that records where its scans are). A model folder's manifest
   * says which form it prefers; this option overrides it.
   */
  scan?: ScanForm;
  /**
   * With scan "kernel": the kernel, the caller's to dispose. Default (disposed with the model): the WebGPU
   * kernel where the backend is "webgpu" and the runtime has navigator.gpu (browsers), else WebAssembly SIMD.
   */
  scanKernel?: ScanKernel;
}

export interface RunOptions {
  /** Also return the logits of every position (the graph must have been converted with logits "all"/"both"). */
  allLogits?: boolean;
  signal?: AbortSignal;
}

export interface ForwardResult {
  /** [batch, vocab] at the last position; absent only from a graph converted with logits "all". */
  logits: Tensor<Float32Array>;
  /** [batch, positions, vocab], when asked for. */
  allLogits?: Tensor<Float32Array>;
  state: MambaState;
}

/**
 * A Mamba LM in onnxruntime: one graph serves prefill (any number of positions, optionally after prefix
 * embeddings) and decode (one position), threading the recurrent state through. Token ids become rows here
 * (EmbeddingTable), the graph takes rows.
 */
export class MambaLM implements LanguageModel<MambaState> {
  /** Where this model runs. */
  readonly backend: Backend;
  private readonly session: LmSession;
  /** The session's onnxruntime module: inputs and states are its tensors. */
  readonly ort: OrtModule;

  protected constructor(
    opened: { session: LmSession; ort: OrtModule; backend: Backend },
    readonly dims: LanguageModelDims,
    private readonly outputs: { last: boolean; all: boolean },
    private readonly chunkSize: number,
    private readonly embeddings: EmbeddingTable,
  ) {
    ({ session: this.session, ort: this.ort, backend: this.backend } = opened);
  }

  /**
   * Loads a converted model from the bytes of its graph and external data files, on the backend (and
   * onnxruntime module) `options` choose. Folders and .onnx paths: MambaLM from "@cobra-ts/mamba-lm/node".
   */
  static async load(source: LanguageModelBytes, options: LoadOptions = {}): Promise<MambaLM> {
    if (typeof (source as unknown) === "string")
      throw new InvalidArgumentError(
        `MambaLM.load("${source as unknown as string}"): loading from a path needs Node; import { MambaLM } from "@cobra-ts/mamba-lm/node"`,
      );
    const what = "model bytes";
    // biome-ignore lint/complexity/noThisInStatic: `this` is the Node entry's subclass when called through it
    return this.open(
      what,
      async () => ({
        bytes: source.model,
        model: source.model,
        externalData: source.externalData,
        embeddings: (inspection) => EmbeddingTable.fromBytes(inspection, source.externalData, what),
      }),
      options,
    );
  }

  /** The load steps every source shares; `read` gets the graph once progress has said "reading". */
  protected static async open(
    what: string,
    read: () => Promise<GraphToOpen>,
    options: LoadOptions,
  ): Promise<MambaLM> {
    const progress = (stage: LoadProgress["stage"], fraction: number) =>
      options.onProgress?.({ stage, fraction });
    const chunkSize = options.chunkSize ?? 512;
    if (!Number.isInteger(chunkSize) || chunkSize < 1)
      throw new InvalidArgumentError(`chunkSize must be a positive integer, got ${chunkSize}`);
    checkScanForm(options.scan);
    throwIfAborted(options.signal);
    progress("reading", 0);
    const graph = await read();
    const inspection = inspectModel(graph.bytes, what);
    checkFormat(inspection, what);
    const embeddings = await graph.embeddings(inspection);
    let opened: { session: LmSession; ort: OrtModule; backend: Backend } | undefined;
    try {
      throwIfAborted(options.signal);
      progress("creating-session", 0.1);
      const sessionOptions = {
        ...LM_SESSION,
        backend: options.backend,
        ort: options.ort,
        threads: options.threads,
        externalData: graph.externalData,
        // With an untied head no node reads the embedding (the lookup does), and onnxruntime would warn on
        // every load that it drops that initializer; errors still show.
        logSeverityLevel: inspection.initializer(LM_HEAD) ? (3 as const) : undefined,
      };
      if ((options.scan ?? "graph") === "kernel") {
        // The segments are bytes: onnxruntime-node finds their external data in the graph's folder.
        const regions = readScanRegions(inspection.metadata, what);
        const segments: OpenedSession[] = [];
        const session = await KernelScanSession.open(
          graph.bytes,
          regions,
          async (bytes) => {
            const s = await openSession(bytes, { ...sessionOptions, externalDataFolder: graph.folder });
            segments.push(s);
            return s;
          },
          what,
          options.scanKernel,
          options.threads,
        );
        const { ort, backend } = segments[0];
        opened = { session, ort, backend };
      } else opened = await openSession(graph.model, sessionOptions);
      throwIfAborted(options.signal);
      const { dims, outputs } = readGraphInterface(opened.session, what);
      if (embeddings.dModel !== dims.dModel || embeddings.vocab < dims.vocabSize)
        throw new ModelFormatError(
          `${what}: the embedding is [${embeddings.vocab}, ${embeddings.dModel}], the graph needs [>= ${dims.vocabSize}, ${dims.dModel}]`,
        );
      progress("ready", 1);
      // Instances of whichever class load was called on (the Node entry's subclass too).
      return new this(opened, dims, outputs, chunkSize, embeddings);
    } catch (e) {
      await Promise.all([opened?.session.release(), embeddings.close()]);
      throw e;
    }
  }

  get vocabSize(): number {
    return this.dims.vocabSize;
  }

  /** The kernel that runs the scans (scan "kernel"): "wasm-simd", "webgpu", ...; null where the graph runs them. */
  get scanKernel(): string | null {
    return this.session instanceof KernelScanSession ? this.session.kernel.name : null;
  }

  get dModel(): number {
    return this.dims.dModel;
  }

  /** A zero state for `batch` sequences. */
  newState(batch = 1): MambaState {
    return MambaState.zeros(this.ort, this.dims, batch);
  }

  stackStates(states: readonly MambaState[]): MambaState {
    for (const s of states) this.checkState(s, s.batch);
    return MambaState.stack(states);
  }

  selectRows(state: MambaState, rows: readonly number[]): MambaState {
    this.checkState(state, state.batch);
    return state.select(rows);
  }

  /** Restores a state saved with MambaState.toBytes (for this model). */
  restoreState(bytes: Uint8Array): MambaState {
    return MambaState.fromBytes(this.ort, this.dims, bytes);
  }

  /**
   * Runs [prefix embeddings | embedded ids] through the model from `state` (a zero state when absent) and
   * returns the logits and the state after the last position. `state` itself is left as it was.
   */
  async prefill(input: ForwardInput, state?: MambaState, options: RunOptions = {}): Promise<ForwardResult> {
    throwIfAborted(options.signal);
    const checked = checkForwardInput(input, this.dims);
    const from = state ?? this.newState(checked.batch);
    this.checkState(from, checked.batch);
    if (options.allLogits && !this.outputs.all)
      throw new InvalidArgumentError(
        'this model was converted without all-position logits; convert it with { logits: "both" } to use allLogits',
      );
    const allLogits = options.allLogits ?? false;
    const total = checked.prefixLength + checked.idCount;
    const parts: ForwardResult[] = [];
    let carried = from;
    for (let start = 0; start < total; start += this.chunkSize) {
      throwIfAborted(options.signal);
      const part = await this.run(
        sliceInput(checked, start, Math.min(total, start + this.chunkSize), this.dims.dModel),
        carried,
        allLogits,
      );
      carried = part.state;
      parts.push(part);
    }
    const last = parts[parts.length - 1];
    return parts.length === 1 || !allLogits
      ? last
      : { ...last, allLogits: concatPositions(parts.map((p) => p.allLogits!)) };
  }

  /** One decode step: one id per sequence of the state's batch. */
  step(ids: number | readonly number[], state: MambaState, options: RunOptions = {}): Promise<ForwardResult> {
    const row = typeof ids === "number" ? [ids] : ids;
    const rows: TokenIds = row.map((id) => [id]);
    return this.prefill({ ids: rows }, state, options);
  }

  async release(): Promise<void> {
    await Promise.all([this.session.release(), this.embeddings.close()]);
  }

  private checkState(state: MambaState, batch: number): void {
    if (!(state instanceof MambaState))
      throw new InvalidArgumentError("state must be a MambaState from this model");
    if (!sameDims(state.dims, this.dims))
      throw new InvalidArgumentError(
        `state belongs to another model (${describeDims(state.dims)}; this model: ${describeDims(this.dims)})`,
      );
    if (state.batch !== batch)
      throw new InvalidArgumentError(`state has batch ${state.batch} but the input has ${batch} sequence(s)`);
  }

  private async run(input: CheckedInput, state: MambaState, allLogits: boolean): Promise<ForwardResult> {
    const { batch, prefixLength: p, idCount: t } = input;
    const d = this.dims.dModel;
    // [prefix rows | embedded ids] per sequence.
    const embeds = new Float32Array(batch * (p + t) * d);
    for (let b = 0; b < batch; b++) {
      const at = b * (p + t) * d;
      embeds.set(input.prefix.subarray(b * p * d, (b + 1) * p * d), at);
      await this.embeddings.lookup(input.ids.subarray(b * t, (b + 1) * t), embeds.subarray(at + p * d));
    }
    const feeds: Record<string, OrtTensor> = {
      [INPUTS_EMBEDS]: new this.ort.Tensor("float32", embeds, [batch, p + t, d]),
    };
    // A graph converted with logits "all" only has no last-position output: take it from all_logits.
    const fetchAll = allLogits || !this.outputs.last;
    const fetches: string[] = [];
    if (this.outputs.last) fetches.push(LOGITS);
    if (fetchAll) fetches.push(ALL_LOGITS);
    for (let i = 0; i < this.dims.nLayer; i++) {
      feeds[convStateIn(i)] = state.conv[i];
      feeds[ssmStateIn(i)] = state.ssm[i];
      fetches.push(convStateOut(i), ssmStateOut(i));
    }
    const out = await this.session.run(feeds, fetches);
    const layers = [...Array(this.dims.nLayer).keys()];
    const next = new MambaState(
      this.dims,
      batch,
      layers.map((i) => out[convStateOut(i)]),
      layers.map((i) => out[ssmStateOut(i)]),
      this.ort,
    );
    const positions = input.prefixLength + input.idCount;
    const vocab = this.dims.vocabSize;
    const all = fetchAll ? f32([batch, positions, vocab], out[ALL_LOGITS].data as Float32Array) : undefined;
    const last = this.outputs.last
      ? f32([batch, vocab], out[LOGITS].data as Float32Array)
      : lastRows(all!, batch, positions, vocab);
    return { logits: last, allLogits: allLogits ? all : undefined, state: next };
  }
}

/** Positions [start, end) of the combined [prefix | ids] sequence, as a graph input of its own. */
function sliceInput(input: CheckedInput, start: number, end: number, dModel: number): CheckedInput {
  const { batch, prefixLength: p, idCount: t } = input;
  if (start === 0 && end === p + t) return input;
  const p0 = Math.min(start, p);
  const p1 = Math.min(end, p);
  const t0 = Math.max(start, p) - p;
  const t1 = Math.max(end, p) - p;
  const prefix = new Float32Array(batch * (p1 - p0) * dModel);
  const ids = new BigInt64Array(batch * (t1 - t0));
  for (let b = 0; b < batch; b++) {
    prefix.set(input.prefix.subarray((b * p + p0) * dModel, (b * p + p1) * dModel), b * (p1 - p0) * dModel);
    ids.set(input.ids.subarray(b * t + t0, b * t + t1), b * (t1 - t0));
  }
  return { batch, prefixLength: p1 - p0, prefix, idCount: t1 - t0, ids };
}

/** Joins [batch, n_i, vocab] chunks along positions. */
function concatPositions(parts: Tensor<Float32Array>[]): Tensor<Float32Array> {
  const [batch, , vocab] = parts[0].shape;
  const positions = parts.reduce((n, t) => n + t.shape[1], 0);
  const out = new Float32Array(batch * positions * vocab);
  for (let b = 0; b < batch; b++) {
    let at = b * positions * vocab;
    for (const t of parts) {
      const rows = t.shape[1] * vocab;
      out.set(t.data.subarray(b * rows, (b + 1) * rows), at);
      at += rows;
    }
  }
  return f32([batch, positions, vocab], out);
}

function lastRows(
  all: Tensor<Float32Array>,
  batch: number,
  positions: number,
  vocab: number,
): Tensor<Float32Array> {
  const out = new Float32Array(batch * vocab);
  for (let b = 0; b < batch; b++)
    out.set(
      all.data.subarray((b * positions + positions - 1) * vocab, (b * positions + positions) * vocab),
      b * vocab,
    );
  return f32([batch, vocab], out);
}

/** Refuses graphs that are not a cobra-ts Mamba LM of this format version, before onnxruntime sees them. */
function checkFormat(model: ModelInspection, what: string): void {
  const { "cobra.format": format, "cobra.format_version": version } = model.metadata;
  if (format !== "mamba-lm")
    throw new ModelFormatError(`${what}: not a cobra-ts Mamba LM (convert it with writeLanguageModel)`);
  if (version !== String(LM_FORMAT_VERSION))
    throw new ModelFormatError(
      `${what}: a Mamba LM of format version ${version}, this cobra-ts reads version ${LM_FORMAT_VERSION}: convert the model again`,
    );
}

/** Reads the sizes off the graph's own input/output metadata, so bytes need no side-car config. */
function readGraphInterface(
  session: LmSession,
  what: string,
): { dims: LanguageModelDims; outputs: { last: boolean; all: boolean } } {
  const meta = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const shapeOf = (name: string): readonly (number | string)[] => {
    const m = meta.get(name);
    if (!m?.isTensor)
      throw new ModelFormatError(`${what}: graph has no input "${name}"; not a cobra-ts Mamba LM`);
    return m.shape;
  };
  let nLayer = 0;
  while (meta.has(convStateIn(nLayer))) nLayer++;
  if (nLayer === 0)
    throw new ModelFormatError(`${what}: graph has no conv_state.0 input; not a cobra-ts Mamba LM`);
  const [, dInner, convWidth] = shapeOf(convStateIn(0));
  const [, dState] = shapeOf(ssmStateIn(0)); // [batch, d_state, d_inner]
  const [, , dModel] = shapeOf(INPUTS_EMBEDS);
  const outMeta = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const logits = outMeta.get(LOGITS) ?? outMeta.get(ALL_LOGITS);
  const vocabSize = logits?.isTensor ? logits.shape[logits.shape.length - 1] : undefined;
  const dims = { nLayer, dModel, dInner, convWidth, dState, vocabSize } as Record<string, unknown>;
  for (const [k, v] of Object.entries(dims))
    if (typeof v !== "number" || v < 1)
      throw new ModelFormatError(`${what}: cannot read ${k} from the graph's inputs/outputs`);
  return {
    dims: dims as unknown as LanguageModelDims,
    outputs: { last: outMeta.has(LOGITS), all: outMeta.has(ALL_LOGITS) },
  };
}

import { InvalidArgumentError, type OrtModule, type OrtTensor } from "@cobra-ts/core";
import { describeDims, type LanguageModelDims, sameDims } from "./state-dims.js";

const MAGIC = 0x5453424d; // "MBST" little-endian
const VERSION = 2; // 2: SSM states [batch, d_state, d_inner]
const HEADER_WORDS = 8; // magic, version, nLayer, batch, dInner, convWidth, dState, reserved

/**
 * The recurrent state of a Mamba LM for `batch` sequences after any number of positions: per layer the last
 * d_conv - 1 conv inputs [batch, d_inner, d_conv - 1] and the SSM state [batch, d_state, d_inner] (mamba_ssm's
 * [batch, d_inner, d_state] transposed: the layout the scan works in, so no step transposes it). Its size
 * never grows with the tokens seen. States are values: prefill/step return a new one and never change their
 * input, so a state saved after a prefix (a system prompt, an image) can seed any number of continuations.
 * The tensors stay onnxruntime tensors between calls (decode feeds the last outputs back without copying).
 */
export class MambaState {
  /** @internal */
  constructor(
    readonly dims: LanguageModelDims,
    readonly batch: number,
    /** @internal */ readonly conv: readonly OrtTensor[],
    /** @internal */ readonly ssm: readonly OrtTensor[],
    private readonly ort: OrtModule,
  ) {}

  /** A zero state (what mamba_ssm allocates before a prefill). */
  static zeros(ort: OrtModule, dims: LanguageModelDims, batch: number): MambaState {
    if (!Number.isInteger(batch) || batch < 1)
      throw new InvalidArgumentError(`batch must be a positive integer, got ${batch}`);
    const conv = Array.from({ length: dims.nLayer }, () =>
      floats(ort, new Float32Array(batch * dims.dInner * dims.convWidth), [
        batch,
        dims.dInner,
        dims.convWidth,
      ]),
    );
    const ssm = Array.from({ length: dims.nLayer }, () =>
      floats(ort, new Float32Array(batch * dims.dInner * dims.dState), [batch, dims.dState, dims.dInner]),
    );
    return new MambaState(dims, batch, conv, ssm, ort);
  }

  /** Floats held: n_layer * batch * d_inner * (d_conv - 1 + d_state), whatever the sequence length. */
  get floatCount(): number {
    return this.dims.nLayer * this.batch * this.dims.dInner * (this.dims.convWidth + this.dims.dState);
  }

  /** A deep copy (own buffers). */
  clone(): MambaState {
    const copy = (t: OrtTensor) => floats(this.ort, (t.data as Float32Array).slice(), t.dims);
    return new MambaState(this.dims, this.batch, this.conv.map(copy), this.ssm.map(copy), this.ort);
  }

  /** The rows `rows` of this batch, in that order (e.g. to drop finished sequences, or to fan one row out). */
  select(rows: readonly number[]): MambaState {
    if (rows.length === 0) throw new InvalidArgumentError("select needs at least one row");
    for (const r of rows)
      if (!Number.isInteger(r) || r < 0 || r >= this.batch)
        throw new InvalidArgumentError(`row ${r} is outside this state's batch of ${this.batch}`);
    const pick = (t: OrtTensor) => {
      const per = (t.dims[1] as number) * (t.dims[2] as number);
      const src = t.data as Float32Array;
      const out = new Float32Array(rows.length * per);
      for (const [i, r] of rows.entries()) out.set(src.subarray(r * per, (r + 1) * per), i * per);
      return floats(this.ort, out, [rows.length, t.dims[1], t.dims[2]]);
    };
    return new MambaState(this.dims, rows.length, this.conv.map(pick), this.ssm.map(pick), this.ort);
  }

  /** Stacks states of the same model into one batch (rows in argument order). */
  static stack(states: readonly MambaState[]): MambaState {
    if (states.length === 0) throw new InvalidArgumentError("stack needs at least one state");
    const [first] = states;
    for (const s of states)
      if (!sameDims(s.dims, first.dims))
        throw new InvalidArgumentError(
          `cannot stack states of different models (${describeDims(s.dims)} vs ${describeDims(first.dims)})`,
        );
    const batch = states.reduce((n, s) => n + s.batch, 0);
    const join = (pickLayer: (s: MambaState) => OrtTensor) => {
      const parts = states.map(pickLayer);
      const out = new Float32Array(parts.reduce((n, t) => n + t.data.length, 0));
      let at = 0;
      for (const t of parts) {
        out.set(t.data as Float32Array, at);
        at += t.data.length;
      }
      return floats(first.ort, out, [batch, parts[0].dims[1], parts[0].dims[2]]);
    };
    const layers = [...Array(first.dims.nLayer).keys()];
    return new MambaState(
      first.dims,
      batch,
      layers.map((i) => join((s) => s.conv[i])),
      layers.map((i) => join((s) => s.ssm[i])),
      first.ort,
    );
  }

  /** A self-describing little-endian byte image (header + fp32 tensors), constant size for a model and batch. */
  async toBytes(): Promise<Uint8Array> {
    const { nLayer, dInner, convWidth, dState } = this.dims;
    const out = new Uint8Array(HEADER_WORDS * 4 + this.floatCount * 4);
    new Uint32Array(out.buffer, 0, HEADER_WORDS).set([
      MAGIC,
      VERSION,
      nLayer,
      this.batch,
      dInner,
      convWidth,
      dState,
      0,
    ]);
    const body = new Float32Array(out.buffer, HEADER_WORDS * 4);
    let at = 0;
    for (let i = 0; i < nLayer; i++)
      for (const t of [this.conv[i], this.ssm[i]]) {
        const data = (await t.getData()) as Float32Array;
        body.set(data, at);
        at += data.length;
      }
    return out;
  }

  /** Restores a state written by toBytes for a model with `dims`; refuses bytes of another model or format. */
  static fromBytes(ort: OrtModule, dims: LanguageModelDims, bytes: Uint8Array): MambaState {
    if (bytes.byteLength < HEADER_WORDS * 4)
      throw new InvalidArgumentError(`state bytes too short (${bytes.byteLength})`);
    const own = bytes.slice(); // aligned private copy: the restored tensors view it
    const header = new Uint32Array(own.buffer, 0, HEADER_WORDS);
    if (header[0] !== MAGIC) throw new InvalidArgumentError("not a serialized Mamba state (bad magic)");
    if (header[1] !== VERSION)
      throw new InvalidArgumentError(
        `state format version ${header[1]} is not supported (expected ${VERSION})`,
      );
    const [, , nLayer, batch, dInner, convWidth, dState] = header;
    const saved = { ...dims, nLayer, dInner, convWidth, dState };
    if (!sameDims(saved, dims))
      throw new InvalidArgumentError(
        `state was saved for another model (${describeDims(saved)}; this model: ${describeDims(dims)})`,
      );
    const convSize = batch * dInner * convWidth;
    const ssmSize = batch * dInner * dState;
    const expected = HEADER_WORDS * 4 + nLayer * (convSize + ssmSize) * 4;
    if (own.byteLength !== expected)
      throw new InvalidArgumentError(
        `state bytes have length ${own.byteLength}, expected ${expected} for batch ${batch}`,
      );
    const conv: OrtTensor[] = [];
    const ssm: OrtTensor[] = [];
    let at = HEADER_WORDS * 4;
    for (let i = 0; i < nLayer; i++) {
      conv.push(floats(ort, new Float32Array(own.buffer, at, convSize), [batch, dInner, convWidth]));
      at += convSize * 4;
      ssm.push(floats(ort, new Float32Array(own.buffer, at, ssmSize), [batch, dState, dInner]));
      at += ssmSize * 4;
    }
    return new MambaState(dims, batch, conv, ssm, ort);
  }
}

function floats(ort: OrtModule, data: Float32Array, dims: readonly number[]): OrtTensor {
  return new ort.Tensor("float32", data, dims);
}

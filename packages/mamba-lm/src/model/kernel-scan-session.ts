/**
 * The LM with its scans in a @cobra-ts/scan kernel: the graph's segments (split-at-scans.ts) in onnxruntime,
 * a kernel call between each two. It answers `run(feeds, fetches)` like the one-graph session, so MambaLM
 * drives both forms alike.
 */
import { fromBinary } from "@bufbuild/protobuf";
import {
  type InferenceSession,
  ModelFormatError,
  type OpenedSession,
  type OrtModule,
  type OrtTensor,
} from "@cobra-ts/core";
import type { ScanKernel } from "@cobra-ts/scan";
import { ModelProtoSchema } from "onnx-buf";
import type { ScanRegion, ScanRegions } from "../graph/scan-regions.js";
import { scanKernelFor } from "./scan-kernel-choice.js";
import { type GraphSegment, kernelSide, splitAtScans } from "./split-at-scans.js";

/** What MambaLM needs of a session: the one-graph InferenceSession and KernelScanSession both are one. */
export interface LmSession {
  readonly inputMetadata: InferenceSession["inputMetadata"];
  readonly outputMetadata: InferenceSession["outputMetadata"];
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

type Tensor32 = { shape: readonly number[]; data: Float32Array };

export class KernelScanSession implements LmSession {
  private constructor(
    private readonly ort: OrtModule,
    private readonly segments: { session: InferenceSession; graph: GraphSegment }[],
    private readonly regions: ScanRegion[],
    private readonly constants: ReadonlyMap<string, Tensor32>,
    /** Runs the scans. */
    readonly kernel: ScanKernel,
    private readonly ownsKernel: boolean,
    readonly inputMetadata: InferenceSession["inputMetadata"],
    readonly outputMetadata: InferenceSession["outputMetadata"],
    /** The last segment that reads each value: it is dropped after that one ran. */
    private readonly lastReader: ReadonlyMap<string, number>,
  ) {}

  /**
   * Splits `model` at the scans `regions` names and opens each part with `open`; `kernel` runs the scans
   * (default: scanKernelFor the segments' backend, released with the session).
   */
  static async open(
    model: Uint8Array,
    regions: ScanRegions,
    open: (bytes: Uint8Array) => Promise<OpenedSession>,
    what: string,
    kernel?: ScanKernel,
    threads?: number,
  ): Promise<KernelScanSession> {
    const proto = fromBinary(ModelProtoSchema, model);
    const split = splitAtScans(proto, regions, what);
    const graphInputs = new Set(proto.graph?.input.map((v) => v.name));
    const graphOutputs = new Set(proto.graph?.output.map((v) => v.name));
    const opened: { session: InferenceSession; graph: GraphSegment }[] = [];
    let scanKernel = kernel;
    try {
      const c = await open(split.constants.model);
      const out = await c.session.run({}).finally(() => c.session.release());
      const constants = new Map<string, Tensor32>();
      for (const name of split.constants.outputs)
        constants.set(name, { shape: out[name].dims, data: out[name].data as Float32Array });
      let ort: OrtModule | undefined;
      for (const graph of split.segments) {
        const s = await open(graph.model);
        ort = s.ort;
        opened.push({ session: s.session, graph });
      }
      const lastReader = new Map<string, number>();
      split.segments.forEach((g, k) => {
        for (const name of g.inputs) lastReader.set(name, k);
      });
      // After the segments opened: on WebGPU the kernel can share the device onnxruntime made for them.
      scanKernel ??= await scanKernelFor(c.backend, c.ort, threads);
      const inputs = opened.flatMap((s) => s.session.inputMetadata.filter((m) => graphInputs.has(m.name)));
      const outputs = opened.flatMap((s) => s.session.outputMetadata.filter((m) => graphOutputs.has(m.name)));
      return new KernelScanSession(
        ort as OrtModule,
        opened,
        regions.layers,
        constants,
        scanKernel,
        kernel === undefined,
        [...new Map(inputs.map((m) => [m.name, m])).values()],
        outputs,
        lastReader,
      );
    } catch (e) {
      await Promise.all(opened.map((s) => s.session.release()));
      if (kernel === undefined) scanKernel?.dispose();
      throw e;
    }
  }

  async run(
    feeds: Record<string, OrtTensor>,
    fetches: readonly string[],
  ): Promise<Record<string, OrtTensor>> {
    const values = new Map(Object.entries(feeds));
    const wanted = new Set(fetches);
    const take = (name: string): OrtTensor => {
      const t = values.get(name);
      if (!t) throw new ModelFormatError(`the LM's segments never produce "${name}"`);
      return t;
    };
    for (const [k, { session, graph }] of this.segments.entries()) {
      const out = await session.run(Object.fromEntries(graph.inputs.map((name) => [name, take(name)])));
      for (const [name, t] of Object.entries(out)) values.set(name, t);
      for (const name of graph.inputs)
        if (this.lastReader.get(name) === k && !wanted.has(name)) values.delete(name);
      const region = this.regions[k];
      if (region) await this.scan(region, values, take);
    }
    return Object.fromEntries(fetches.map((name) => [name, take(name)]));
  }

  /** One layer's scan: reads the kernel-side inputs the segment left in `values`, adds the kernel's outputs. */
  private async scan(
    r: ScanRegion,
    values: Map<string, OrtTensor>,
    take: (name: string) => OrtTensor,
  ): Promise<void> {
    const input = (name: string): Tensor32 => {
      const t = take(kernelSide(name));
      values.delete(kernelSide(name));
      return { shape: t.dims, data: t.data as Float32Array };
    };
    const constant = (name: string): Tensor32 => this.constants.get(kernelSide(name)) as Tensor32;
    const { out, lastState } = await this.kernel.selectiveScan(
      input(r.u),
      input(r.delta),
      constant(r.A),
      input(r.B),
      input(r.C),
      {
        D: constant(r.D),
        z: input(r.z),
        deltaBias: constant(r.deltaBias),
        deltaSoftplus: true,
        initialState: input(r.initialState),
      },
    );
    const tensor = (t: Tensor32) => new this.ort.Tensor("float32", t.data, t.shape);
    values.set(kernelSide(r.out), tensor(out));
    values.set(kernelSide(r.lastState), tensor(lastState));
  }

  async release(): Promise<void> {
    await Promise.all(this.segments.map((s) => s.session.release()));
    if (this.ownsKernel) this.kernel.dispose();
  }
}

/**
 * Cuts the LM graph at its scans (recorded by the converter, see scan-regions.ts) into graphs that run
 * between them: segment 0 runs up to layer 0's scan, segment i from layer i-1's scan to layer i's, the last
 * one from the last scan to the logits. A kernel runs each scan in between. The cut is found on the graph
 * itself (which node needs which value), so it follows whatever the converter emits around the scan.
 *
 * Values cross between segments and kernel in the kernel's layout (selective_scan_ref's [batch, d, L] and
 * [batch, d, N]): the segments transpose them, where onnxruntime cancels them against the graph's own
 * transposes. The initializers stay where they are (external data entries are copied as they are), and each
 * segment holds only those its nodes read.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelFormatError } from "@cobra-ts/core";
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type GraphProto,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  TensorProto_DataType,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "onnx-buf";
import type { ScanRegions } from "../graph/scan-regions.js";

/** The scan inputs a segment computes on every call, with the transpose into the kernel's layout. */
const PER_CALL_INPUTS = ["u", "delta", "z", "B", "C", "initialState"] as const;
/** The scan inputs that never change (weights and what is computed from weights only). */
const CONSTANT_INPUTS = ["A", "D", "deltaBias"] as const;
/** [L, B, X] -> [B, X, L] and back; the state [B, N, d] <-> [B, d, N]. */
const TO_KERNEL: Record<(typeof PER_CALL_INPUTS)[number], number[]> = {
  u: [1, 2, 0],
  delta: [1, 2, 0],
  z: [1, 2, 0],
  B: [1, 2, 0],
  C: [1, 2, 0],
  initialState: [0, 2, 1],
};
const FROM_KERNEL = { out: [2, 0, 1], lastState: [0, 2, 1] } as const;

/** The name a value has on the kernel's side of a cut (in the kernel's layout). */
export const kernelSide = (value: string): string => `${value}::kernel`;

export interface GraphSegment {
  model: Uint8Array;
  /** What the segment reads: original graph inputs, values of earlier segments, kernelSide(scan outputs). */
  inputs: string[];
  /** What it returns: values for later segments, kernelSide(scan inputs), original graph outputs. */
  outputs: string[];
}

export interface SplitGraph {
  /** Outputs kernelSide(A), kernelSide(D), kernelSide(deltaBias) of every layer: run once. */
  constants: GraphSegment;
  /** n_layer + 1 segments, in the order they run. */
  segments: GraphSegment[];
}

/** Splits `model` (an LM graph with `regions`) at its scans. */
export function splitAtScans(model: ModelProto, regions: ScanRegions, what: string): SplitGraph {
  const graph = model.graph;
  if (!graph) throw new ModelFormatError(`${what}: the model has no graph`);
  const nodes = graph.node;
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const graphInputs = new Map(graph.input.map((v) => [v.name, v]));
  const graphOutputs = new Map(graph.output.map((v) => [v.name, v]));
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output) if (o) producer.set(o, i);
  });
  const reads = nodes.map(nodeReads);

  // Nodes that read weights only are constant: copied into every segment that needs them.
  const constant = new Array<boolean>(nodes.length).fill(false);
  const isConstant = (v: string) =>
    v === "" || initializers.has(v) || (producer.has(v) && constant[producer.get(v) as number]);
  nodes.forEach((_, i) => {
    constant[i] = reads[i].every(isConstant);
  });

  // Which layer's scan each other node belongs to: everything between the scan's inputs and its outputs.
  const region = new Array<number>(nodes.length).fill(-1);
  regions.layers.forEach((r, layer) => {
    const stops = new Set([...PER_CALL_INPUTS, ...CONSTANT_INPUTS].map((k) => r[k]));
    const todo = [r.out, r.lastState];
    while (todo.length > 0) {
      const v = todo.pop() as string;
      const at = producer.get(v);
      if (stops.has(v) || at === undefined || constant[at] || region[at] === layer) continue;
      if (region[at] !== -1)
        throw new ModelFormatError(`${what}: the scans of layers ${region[at]} and ${layer} share a node`);
      region[at] = layer;
      todo.push(...reads[at]);
    }
  });

  // Every other node runs in the segment after the last scan it depends on.
  const segmentOf = new Array<number>(nodes.length).fill(0);
  nodes.forEach((_, i) => {
    if (region[i] !== -1 || constant[i]) return;
    for (const v of reads[i]) {
      const at = producer.get(v);
      if (at === undefined || constant[at]) continue;
      segmentOf[i] = Math.max(segmentOf[i], region[at] !== -1 ? region[at] + 1 : segmentOf[at]);
    }
  });

  const count = regions.layers.length + 1;
  const builders = Array.from({ length: count }, () => new SegmentBuilder());
  nodes.forEach((n, i) => {
    if (region[i] === -1 && !constant[i]) builders[segmentOf[i]].nodes.push(n);
  });
  // Which segment computes a (non-constant) value; -1: a graph input.
  const home = (v: string): number => {
    const at = producer.get(v);
    if (at === undefined) return -1;
    if (region[at] !== -1) throw new ModelFormatError(`${what}: "${v}" is computed inside a scan`);
    return segmentOf[at];
  };
  const elementType = inferElementTypes(graph, producer);

  // Values one segment hands to a later one, and the graph's own outputs.
  builders.forEach((b, k) => {
    for (const n of [...b.nodes])
      for (const v of nodeReads(n)) {
        if (isConstant(v) || producer.get(v) === undefined) continue;
        const at = producer.get(v) as number;
        if (region[at] !== -1) continue; // a scan output: added below
        const from = segmentOf[at];
        if (from !== k) {
          builders[from].addOutput(v, elementType(v));
          b.addInput(v, elementType(v));
        }
      }
  });
  for (const [name, info] of graphOutputs) builders[home(name)].outputs.set(name, info);

  // The cuts: per-call scan inputs leave their segment transposed; scan outputs enter the next one.
  regions.layers.forEach((r, layer) => {
    const host = Math.max(0, ...PER_CALL_INPUTS.map((k) => home(r[k])));
    if (host > layer) throw new ModelFormatError(`${what}: layer ${layer}'s scan reads a later layer`);
    for (const key of PER_CALL_INPUTS) {
      const v = r[key];
      const from = home(v);
      const b = builders[from === -1 ? host : from];
      if (from === -1) b.addGraphInput(v, graphInputs.get(v));
      b.transposeOut(v, TO_KERNEL[key]);
    }
    for (const key of ["out", "lastState"] as const)
      builders[layer + 1].transposeIn(r[key], FROM_KERNEL[key]);
  });
  // Graph inputs read by segment nodes.
  builders.forEach((b) => {
    for (const n of [...b.nodes])
      for (const v of nodeReads(n)) if (graphInputs.has(v)) b.addGraphInput(v, graphInputs.get(v));
  });

  const constants = new SegmentBuilder();
  for (const r of regions.layers)
    for (const key of CONSTANT_INPUTS) {
      if (!isConstant(r[key])) throw new ModelFormatError(`${what}: the scan's ${key} is not a constant`);
      constants.identityOut(r[key]);
    }

  const finish = (b: SegmentBuilder, name: string): GraphSegment => {
    // Constant nodes the segment reads, in the graph's order (which is topological).
    const needed = new Set<number>();
    const todo = b.nodes.flatMap(nodeReads);
    while (todo.length > 0) {
      const at = producer.get(todo.pop() as string);
      if (at === undefined || !constant[at] || needed.has(at)) continue;
      needed.add(at);
      todo.push(...reads[at]);
    }
    const body = [...[...needed].sort((x, y) => x - y).map((i) => nodes[i]), ...b.nodes];
    const used = new Set(body.flatMap(nodeReads));
    return {
      model: toBinary(
        ModelProtoSchema,
        create(ModelProtoSchema, {
          irVersion: model.irVersion,
          opsetImport: model.opsetImport,
          producerName: model.producerName,
          graph: create(GraphProtoSchema, {
            name,
            node: body,
            initializer: graph.initializer.filter((t) => used.has(t.name)),
            input: [...b.inputs.values()],
            output: [...b.outputs.values()],
          }),
        }),
      ),
      inputs: [...b.inputs.keys()],
      outputs: [...b.outputs.keys()],
    };
  };
  return {
    constants: finish(constants, "scan_constants"),
    segments: builders.map((b, k) => finish(b, `segment_${k}`)),
  };
}

/** One segment's nodes, inputs and outputs as they are collected. */
class SegmentBuilder {
  readonly nodes: NodeProto[] = [];
  readonly inputs = new Map<string, ValueInfoProto>();
  readonly outputs = new Map<string, ValueInfoProto>();

  addInput(name: string, type: TensorProto_DataType): void {
    if (!this.inputs.has(name)) this.inputs.set(name, tensorInfo(name, type));
  }

  addOutput(name: string, type: TensorProto_DataType): void {
    if (!this.outputs.has(name)) this.outputs.set(name, tensorInfo(name, type));
  }

  addGraphInput(name: string, info: ValueInfoProto | undefined): void {
    if (!this.inputs.has(name)) this.inputs.set(name, info ?? tensorInfo(name, TensorProto_DataType.FLOAT));
  }

  /** Returns kernelSide(value): `value` transposed by `perm`. */
  transposeOut(value: string, perm: number[]): void {
    this.nodes.push(transposeNode(value, kernelSide(value), perm));
    this.addOutput(kernelSide(value), TensorProto_DataType.FLOAT);
  }

  /** Reads kernelSide(value) and makes `value` of it, transposed by `perm`. */
  transposeIn(value: string, perm: readonly number[]): void {
    this.addInput(kernelSide(value), TensorProto_DataType.FLOAT);
    this.nodes.unshift(transposeNode(kernelSide(value), value, [...perm]));
  }

  identityOut(value: string): void {
    this.nodes.push(
      create(NodeProtoSchema, { opType: "Identity", input: [value], output: [kernelSide(value)] }),
    );
    this.addOutput(kernelSide(value), TensorProto_DataType.FLOAT);
  }
}

function transposeNode(input: string, output: string, perm: number[]): NodeProto {
  return create(NodeProtoSchema, {
    opType: "Transpose",
    input: [input],
    output: [output],
    attribute: [
      create(AttributeProtoSchema, {
        name: "perm",
        type: AttributeProto_AttributeType.INTS,
        ints: perm.map(BigInt),
      }),
    ],
  });
}

function tensorInfo(name: string, elemType: TensorProto_DataType): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: "tensorType", value: create(TypeProto_TensorSchema, { elemType }) },
    }),
  });
}

/** The values a node reads: its inputs and what its subgraphs (Scan bodies) take from the outer scope. */
function nodeReads(node: NodeProto): string[] {
  const reads = node.input.filter((v) => v !== "");
  for (const a of node.attribute)
    for (const g of [...(a.g ? [a.g] : []), ...a.graphs]) reads.push(...outerReads(g));
  return reads;
}

function outerReads(g: GraphProto): string[] {
  const defined = new Set([
    ...g.input.map((v) => v.name),
    ...g.initializer.map((t) => t.name),
    ...g.node.flatMap((n) => n.output),
  ]);
  return g.node.flatMap(nodeReads).filter((v) => !defined.has(v));
}

/**
 * Element types of the values crossing a cut: the graph's inputs and initializers say theirs; a node's output
 * has its first input's type except for the few ops that make another (shapes, casts).
 */
function inferElementTypes(
  graph: GraphProto,
  producer: Map<string, number>,
): (value: string) => TensorProto_DataType {
  const known = new Map<string, TensorProto_DataType>();
  for (const v of graph.input)
    if (v.type?.value.case === "tensorType") known.set(v.name, v.type.value.value.elemType);
  for (const t of graph.initializer) known.set(t.name, t.dataType);
  const typeOf = (value: string): TensorProto_DataType => {
    const cached = known.get(value);
    if (cached !== undefined) return cached;
    const node = graph.node[producer.get(value) ?? -1];
    let type = TensorProto_DataType.FLOAT;
    if (node) {
      const to = node.attribute.find((a) => a.name === "to");
      if (node.opType === "Shape" || node.opType === "Size") type = TensorProto_DataType.INT64;
      else if (node.opType === "Cast" && to) type = Number(to.i);
      else if (node.input[0]) type = typeOf(node.input[0]);
    }
    known.set(value, type);
    return type;
  };
  return typeOf;
}

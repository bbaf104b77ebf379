import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type GraphProto,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  type TensorProto,
  TensorProto_DataLocation,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "onnx-buf";
import { InvalidArgumentError } from "../errors.js";
import type { TypedArray } from "../tensor.js";
import { type OnnxElementType, onnxDataType } from "./dtypes.js";

/** A dimension: a fixed size, or a symbolic name such as "batch". */
export type Dim = number | string;

/** Where an initializer's bytes live when they are kept outside the .onnx file. */
export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

export type AttributeValue =
  | number
  | string
  | number[]
  | string[]
  | Float32Array
  | GraphBuilder
  | TensorAttribute;

/** A tensor-valued attribute (e.g. Constant's `value`). */
export interface TensorAttribute {
  tensor: { type: OnnxElementType; dims: number[]; data: TypedArray };
}

/** Marks a number attribute as float even when it is integral (e.g. `alpha: float(1)`). */
export class FloatAttr {
  constructor(readonly value: number) {}
}

export type Attributes = Record<string, AttributeValue | FloatAttr>;

export interface OpOptions {
  /** Operator domain, e.g. "com.microsoft"; the default domain otherwise. */
  domain?: string;
  /** An explicit name for the (single) output, e.g. to match a graph output. */
  name?: string;
}

/**
 * Builds one ONNX graph (or a subgraph for Scan/Loop/If bodies). Values are plain strings: the names of
 * graph inputs, initializers and node outputs. Node output names are generated unless given.
 */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly names = new Set<string>();
  private readonly shared: SharedState;

  constructor(
    readonly name: string,
    shared?: SharedState,
  ) {
    this.shared = shared ?? { n: 0, domains: new Set() };
  }

  /**
   * A body graph for Scan/Loop/If; it shares the name counter (generated names never collide) and the set of
   * operator domains used.
   */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.shared);
  }

  /** The non-default operator domains this graph and its subgraphs use (a model must import each). */
  get domainsUsed(): ReadonlySet<string> {
    return this.shared.domains;
  }

  input(name: string, type: OnnxElementType, dims: Dim[] | null): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(value: string, type: OnnxElementType, dims: Dim[] | null, name = value): string {
    if (name !== value) {
      this.claim(name);
      this.addNode("Identity", [value], {}, {}, [name]);
    }
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** An initializer with its bytes inside the model. */
  initializer(name: string, type: OnnxElementType, dims: number[], data: TypedArray): string {
    this.claim(name);
    return this.inlineInitializer(name, type, dims, data);
  }

  private inlineInitializer(name: string, type: OnnxElementType, dims: number[], data: TypedArray): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: onnxDataType(type),
        dims: dims.map(BigInt),
        rawData: bytes as Uint8Array<ArrayBuffer>,
      }),
    );
    return name;
  }

  /** An initializer whose bytes were already written to an external data file. */
  externalInitializer(name: string, type: OnnxElementType, dims: number[], where: ExternalLocation): string {
    this.claim(name);
    const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType: onnxDataType(type),
        dims: dims.map(BigInt),
        dataLocation: TensorProto_DataLocation.EXTERNAL,
        externalData: [
          entry("location", where.location),
          entry("offset", String(where.offset)),
          entry("length", String(where.length)),
        ],
      }),
    );
    return name;
  }

  /** A small constant (shapes, axes, scalars) stored as an initializer. */
  constInt64(values: number[] | bigint[], dims: number[] = [values.length], name?: string): string {
    const data = BigInt64Array.from(values as Iterable<number | bigint>, (v) => BigInt(v));
    return name
      ? this.initializer(name, "int64", dims, data)
      : this.inlineInitializer(this.fresh("const_i64"), "int64", dims, data);
  }

  constFloat(values: number[] | Float32Array, dims: number[] = [values.length], name?: string): string {
    const data = Float32Array.from(values);
    return name
      ? this.initializer(name, "float32", dims, data)
      : this.inlineInitializer(this.fresh("const_f32"), "float32", dims, data);
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Attributes = {}, options: OpOptions = {}): string {
    const out = options.name ?? this.fresh(opType);
    if (options.name) this.claim(out);
    return this.addNode(opType, inputs, attrs, options, [out])[0];
  }

  /** Adds a node with several outputs (a count, or explicit names) and returns their names. */
  opMulti(
    opType: string,
    inputs: string[],
    outputs: number | string[],
    attrs: Attributes = {},
    options: OpOptions = {},
  ): string[] {
    if (typeof outputs !== "number") for (const o of outputs) this.claim(o);
    const names =
      typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    return this.addNode(opType, inputs, attrs, options, names);
  }

  private addNode(
    opType: string,
    inputs: string[],
    attrs: Attributes,
    options: OpOptions,
    outputs: string[],
  ): string[] {
    if (options.domain) this.shared.domains.add(options.domain);
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        domain: options.domain ?? "",
        name: this.fresh(`${opType}_node`),
        input: inputs,
        output: outputs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs;
  }

  /** The graph as a protobuf message. */
  toGraphProto(): GraphProto {
    return create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
    });
  }

  /** A fresh unique value name with a readable stem (reserved: no later value can take it). */
  fresh(stem: string): string {
    let name: string;
    do name = `${stem}_${this.shared.n++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name))
      throw new InvalidArgumentError(`graph "${this.name}" already has a value named "${name}"`);
    this.names.add(name);
  }
}

interface SharedState {
  n: number;
  domains: Set<string>;
}

export interface ModelOptions {
  /**
   * Opset per domain; the default domain "" defaults to 17, any other domain a node uses (e.g. com.microsoft)
   * to 1.
   */
  opsets?: Record<string, number>;
  producerName?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

export function buildModel(graph: GraphBuilder, options: ModelOptions = {}): ModelProto {
  const used = Object.fromEntries([...graph.domainsUsed].map((domain) => [domain, 1]));
  const opsets = { "": 17, ...used, ...options.opsets };
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: options.producerName ?? "cobra-ts",
    docString: options.docString ?? "",
    opsetImport: Object.entries(opsets).map(([domain, version]) =>
      create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }),
    ),
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) =>
      create(StringStringEntryProtoSchema, { key, value }),
    ),
    graph: graph.toGraphProto(),
  });
}

/** Serializes a model to ONNX bytes. Keep large weights external: protobuf caps a message at 2 GB. */
export function serializeModel(graph: GraphBuilder, options: ModelOptions = {}): Uint8Array {
  return toBinary(ModelProtoSchema, buildModel(graph, options));
}

function valueInfo(name: string, type: OnnxElementType, dims: Dim[] | null): ValueInfoProto {
  const shape =
    dims === null
      ? undefined
      : create(TensorShapeProtoSchema, {
          dim: dims.map((d) =>
            create(TensorShapeProto_DimensionSchema, {
              value:
                typeof d === "number"
                  ? { case: "dimValue", value: BigInt(d) }
                  : { case: "dimParam", value: d },
            }),
          ),
        });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, { elemType: onnxDataType(type), shape }),
      },
    }),
  });
}

function attribute(name: string, v: AttributeValue | FloatAttr): AttributeProto {
  const T = AttributeProto_AttributeType;
  const a = (fields: MessageInitShape<typeof AttributeProtoSchema>) =>
    create(AttributeProtoSchema, { ...fields, name });
  if (v instanceof FloatAttr) return a({ type: T.FLOAT, f: v.value });
  if (v instanceof GraphBuilder) return a({ type: T.GRAPH, g: v.toGraphProto() });
  if (typeof v === "number")
    return Number.isInteger(v) ? a({ type: T.INT, i: BigInt(v) }) : a({ type: T.FLOAT, f: v });
  if (typeof v === "string")
    return a({ type: T.STRING, s: new TextEncoder().encode(v) as Uint8Array<ArrayBuffer> });
  if (v instanceof Float32Array) return a({ type: T.FLOATS, floats: [...v] });
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string"))
      return a({
        type: T.STRINGS,
        strings: v.map((s) => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>),
      });
    const nums = v as number[];
    return nums.every(Number.isInteger)
      ? a({ type: T.INTS, ints: nums.map(BigInt) })
      : a({ type: T.FLOATS, floats: nums });
  }
  const t = v.tensor;
  return a({
    type: T.TENSOR,
    t: create(TensorProtoSchema, {
      dataType: onnxDataType(t.type),
      dims: t.dims.map(BigInt),
      rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) as Uint8Array<ArrayBuffer>,
    }),
  });
}

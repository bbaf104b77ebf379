import { fromBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProto_DataLocation, TensorProto_DataType } from "onnx-buf";
import { ModelFormatError } from "../errors.js";
import type { ExternalLocation } from "./builder.js";
import type { OnnxElementType } from "./dtypes.js";

/** Where one initializer's bytes are: inside the model, or in an external data file. */
export interface InitializerBytes {
  type: OnnxElementType | "other";
  dims: number[];
  /** The bytes, when stored inside the model. */
  raw?: Uint8Array;
  /** The file (relative to the model) and byte range, when stored outside. */
  external?: ExternalLocation;
}

/** Copies `out.length` bytes of initializer `t`, starting `offset` bytes into it, into `out`. */
export type InitializerReader = (
  t: InitializerBytes,
  offset: number,
  out: Uint8Array,
) => Promise<void> | void;

/** What a model says about itself without running it: its metadata and where its initializers are. */
export interface ModelInspection {
  metadata: Readonly<Record<string, string>>;
  initializer(name: string): InitializerBytes | undefined;
  /** Every initializer's name, in the graph's order. */
  initializerNames: readonly string[];
  /** The external data files the graph's initializers are in (relative to the model), each once. */
  externalFiles: readonly string[];
}

const ELEMENT_TYPES = new Map<number, OnnxElementType>([
  [TensorProto_DataType.FLOAT, "float32"],
  [TensorProto_DataType.FLOAT16, "float16"],
  [TensorProto_DataType.INT64, "int64"],
  [TensorProto_DataType.INT32, "int32"],
  [TensorProto_DataType.INT8, "int8"],
  [TensorProto_DataType.UINT8, "uint8"],
  [TensorProto_DataType.BOOL, "bool"],
]);

/** Parses an ONNX model's bytes (`what` names it in errors). */
export function inspectModel(model: Uint8Array, what = "model"): ModelInspection {
  let proto: ReturnType<typeof fromBinary<typeof ModelProtoSchema>>;
  try {
    proto = fromBinary(ModelProtoSchema, model);
  } catch (e) {
    throw new ModelFormatError(`${what}: not an ONNX model (${(e as Error).message})`, { cause: e });
  }
  const metadata = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
  const tensors = new Map((proto.graph?.initializer ?? []).map((t) => [t.name, t]));
  const externalFiles = new Set<string>();
  for (const t of tensors.values())
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL)
      for (const e of t.externalData) if (e.key === "location") externalFiles.add(e.value);
  return {
    metadata,
    externalFiles: [...externalFiles],
    initializerNames: [...tensors.keys()],
    initializer(name) {
      const t = tensors.get(name);
      if (!t) return undefined;
      const dims = t.dims.map(Number);
      const type = ELEMENT_TYPES.get(t.dataType) ?? "other";
      if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) {
        // Writers put the bytes in raw_data; float_data is the protobuf-typed alternative.
        const raw = t.rawData.length > 0 || t.floatData.length === 0 ? t.rawData : floatBytes(t.floatData);
        return { type, dims, raw };
      }
      const entry = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
      const offset = Number(entry.offset ?? 0);
      const length = Number(entry.length);
      if (!entry.location || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length))
        throw new ModelFormatError(`${what}: initializer "${name}" has an incomplete external data entry`);
      return { type, dims, external: { location: entry.location, offset, length } };
    },
  };
}

function floatBytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

import { TensorProto_DataType } from "onnx-buf";
import { InvalidArgumentError } from "../errors.js";
import type { DType } from "../tensor.js";

/** ONNX element types by the names onnxruntime's JS API uses. */
export type OnnxElementType = "float32" | "float16" | "int64" | "int32" | "int8" | "uint8" | "bool";

const ONNX_TYPES: Record<OnnxElementType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float16: TensorProto_DataType.FLOAT16,
  int64: TensorProto_DataType.INT64,
  int32: TensorProto_DataType.INT32,
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
  bool: TensorProto_DataType.BOOL,
};

export function onnxDataType(t: OnnxElementType): TensorProto_DataType {
  const v = ONNX_TYPES[t];
  if (v === undefined) throw new InvalidArgumentError(`unsupported ONNX element type "${t}"`);
  return v;
}

export function elementTypeOf(dtype: DType): OnnxElementType {
  switch (dtype) {
    case "F32":
      return "float32";
    case "F16":
      return "float16";
    case "I64":
      return "int64";
    case "I32":
      return "int32";
    case "I8":
      return "int8";
    case "U8":
      return "uint8";
    case "BOOL":
      return "bool";
    default:
      throw new InvalidArgumentError(
        `dtype ${dtype} has no ONNX initializer mapping here; convert to F32 first`,
      );
  }
}

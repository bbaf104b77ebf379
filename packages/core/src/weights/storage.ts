// Stored tensor bytes to the arrays the project computes with; shared by every weights format (no I/O here,
// so browsers can use it on bytes they fetched).
import { WeightsFormatError } from "../errors.js";
import { bf16ToF32, type DType, f16ToF32, type TypedArray } from "../tensor.js";

/** Converts raw little-endian bytes of a stored dtype to the array the project computes with. */
export function decodeStorage(file: string, key: string, dtype: DType, bytes: Uint8Array): TypedArray {
  // Copy into a fresh, aligned buffer: Buffer slices can sit at odd offsets of a shared pool.
  const own = new Uint8Array(bytes.byteLength);
  own.set(bytes);
  const b = own.buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(b);
    case "F16":
      return f16ToF32(new Uint16Array(b));
    case "BF16":
      return bf16ToF32(new Uint16Array(b));
    case "F64":
      return Float32Array.from(new Float64Array(b));
    case "I64":
      return new BigInt64Array(b);
    case "I32":
      return new Int32Array(b);
    case "I16":
      return new Int16Array(b);
    case "I8":
      return new Int8Array(b);
    case "U8":
    case "BOOL":
      return own;
    default:
      throw new WeightsFormatError(file, `${key}: unsupported dtype ${dtype as string}`);
  }
}

/** The dtype of an array as read back (float storages are widened to F32). */
export function readDType(stored: DType): DType {
  return stored === "F16" || stored === "BF16" || stored === "F64" ? "F32" : stored;
}

/**
 * Test-only helpers: a tiny STORED-zip writer and a byte-level pickle builder, enough to craft torch.save-like
 * checkpoints (good and malicious) inside tests. Not exported from the package.
 */
import { mkdtemp, open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { fixtureSet } from "../testing.js";

export const FIXTURES = fixtureSet();

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "cobra-weights-"));
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** 8 = deflate (the data is compressed here); default 0 = stored. */
  method?: 0 | 8;
  /** Writes a broken local header signature, to prove a reader never looked at it. */
  badLocalHeader?: boolean;
  /**
   * A stored entry of `size` bytes of which only `data` (placed at its end) is written: with writeZipFile the
   * rest stays a hole in a sparse file, so multi-GiB entries cost no disk. CRC is left 0 (readers of torch
   * files do not check it).
   */
  sparseSize?: number;
}

interface Piece {
  at: number;
  data: Uint8Array;
}

/**
 * Lays out a zip archive (no data descriptors) as positioned pieces. `zip64` writes every size and offset
 * through ZIP64 extra fields and records, as torch does for checkpoints over 4 GiB.
 */
function zipPieces(entries: ZipInput[], zip64: boolean): { pieces: Piece[]; size: number } {
  const FFFF = 0xffffffff;
  const pieces: Piece[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const method = e.method ?? 0;
    const body = method === 8 ? deflateRawSync(e.data) : Buffer.from(e.data);
    const size = e.sparseSize ?? body.length;
    const usize = e.sparseSize ?? e.data.length;
    const crc = e.sparseSize === undefined ? crc32(e.data) : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(e.badLocalHeader ? 0xdeadbeef : 0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(zip64 ? FFFF : size, 18);
    local.writeUInt32LE(zip64 ? FFFF : usize, 22);
    local.writeUInt16LE(name.length, 26);
    // ZIP64 extended information: sizes (local header), sizes + local header offset (central directory).
    const localExtra = zip64 ? zip64Extra([usize, size]) : Buffer.alloc(0);
    const centralExtra = zip64 ? zip64Extra([usize, size, offset]) : Buffer.alloc(0);
    local.writeUInt16LE(localExtra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? FFFF : size, 20);
    central.writeUInt32LE(zip64 ? FFFF : usize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    central.writeUInt32LE(zip64 ? FFFF : offset, 42);
    const header = Buffer.concat([local, name, localExtra]);
    pieces.push(
      { at: offset, data: header },
      { at: offset + header.length + size - body.length, data: body },
    );
    centrals.push(central, name, centralExtra);
    offset += header.length + size;
  }
  const cd = Buffer.concat(centrals);
  const tail: Buffer[] = [cd];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // size of the rest of the record
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(cd.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? FFFF : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? FFFF : offset, 16);
  tail.push(eocd);
  const end = Buffer.concat(tail);
  pieces.push({ at: offset, data: end });
  return { pieces, size: offset + end.length };
}

/** Builds a zip archive in memory. */
export function buildZip(entries: ZipInput[], { zip64 = false } = {}): Buffer {
  const { pieces, size } = zipPieces(entries, zip64);
  const out = Buffer.alloc(size);
  for (const p of pieces) out.set(p.data, p.at);
  return out;
}

/** Writes a zip archive to `path` piece by piece, leaving holes (sparse) where entries are not written. */
export async function writeZipFile(path: string, entries: ZipInput[], { zip64 = false } = {}): Promise<void> {
  const { pieces, size } = zipPieces(entries, zip64);
  const fh = await open(path, "w");
  try {
    await fh.truncate(size);
    for (const p of pieces) await fh.write(p.data, 0, p.data.length, p.at);
  } finally {
    await fh.close();
  }
}

function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  for (let i = 0; i < values.length; i++) b.writeBigUInt64LE(BigInt(values[i]), 4 + 8 * i);
  return b;
}

/** Writes pickle opcodes one by one. */
export class PickleBuilder {
  private readonly parts: number[] = [];

  bytes(...b: number[]): this {
    this.parts.push(...b);
    return this;
  }
  text(s: string): this {
    return this.bytes(...Buffer.from(s, "latin1"));
  }
  proto(v = 2): this {
    return this.bytes(0x80, v);
  }
  mark(): this {
    return this.bytes(0x28);
  }
  tuple(): this {
    return this.bytes(0x74);
  }
  emptyTuple(): this {
    return this.bytes(0x29);
  }
  emptyDict(): this {
    return this.bytes(0x7d);
  }
  setitem(): this {
    return this.bytes(0x73);
  }
  setitems(): this {
    return this.bytes(0x75);
  }
  reduce(): this {
    return this.bytes(0x52);
  }
  binpersid(): this {
    return this.bytes(0x51);
  }
  newFalse(): this {
    return this.bytes(0x89);
  }
  stop(): this {
    return this.bytes(0x2e);
  }
  /** GLOBAL 'c' module\nname\n */
  global(module: string, name: string): this {
    return this.bytes(0x63).text(`${module}\n${name}\n`);
  }
  /** SHORT_BINUNICODE x2 + STACK_GLOBAL (protocol 4 style). */
  stackGlobal(module: string, name: string): this {
    return this.shortStr(module).shortStr(name).bytes(0x93);
  }
  /** BINUNICODE */
  str(s: string): this {
    const b = Buffer.from(s, "utf8");
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.bytes(0x58, ...len, ...b);
  }
  shortStr(s: string): this {
    const b = Buffer.from(s, "utf8");
    return this.bytes(0x8c, b.length, ...b);
  }
  /** The smallest of BININT1 / BININT2 / BININT, like pickle does. */
  int(n: number): this {
    if (n >= 0 && n < 256) return this.bytes(0x4b, n);
    if (n >= 0 && n < 65536) return this.bytes(0x4d, n & 0xff, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.bytes(0x4a, ...b);
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  build(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface TensorSpec {
  key: string;
  storageKey: string;
  /** e.g. FloatStorage, HalfStorage, BFloat16Storage, LongStorage */
  storageType?: string;
  storageNumel: number;
  offset?: number;
  shape: number[];
  /** Default: row-major contiguous. */
  stride?: number[];
}

export function contiguousStride(shape: number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i];
  }
  return stride;
}

/** Appends `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())` like torch. */
export function pushTensor(p: PickleBuilder, t: TensorSpec): PickleBuilder {
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark()
    .str("storage")
    .global("torch", t.storageType ?? "FloatStorage")
    .str(t.storageKey)
    .str("cpu")
    .int(t.storageNumel)
    .tuple();
  p.binpersid()
    .int(t.offset ?? 0)
    .ints(t.shape)
    .ints(t.stride ?? contiguousStride(t.shape))
    .newFalse();
  p.global("collections", "OrderedDict").emptyTuple().reduce();
  return p.tuple().reduce();
}

/** A protocol-2 pickle of `{nest[0]: {nest[1]: ... OrderedDict(tensors)}}` as torch.save writes it. */
export function stateDictPickle(tensors: TensorSpec[], nest: string[] = []): Uint8Array {
  const p = new PickleBuilder().proto(2);
  for (const k of nest) p.emptyDict().str(k);
  p.global("collections", "OrderedDict").emptyTuple().reduce().mark();
  for (const t of tensors) pushTensor(p.str(t.key), t);
  p.setitems();
  for (let i = 0; i < nest.length; i++) p.setitem();
  return p.stop().build();
}

/** A torch.save-like zip: `<prefix>/data.pkl`, `<prefix>/data/<key>` storages, `<prefix>/version`. */
export function torchZip(
  prefix: string,
  pickle: Uint8Array,
  storages: Record<string, Uint8Array>,
  extra: ZipInput[] = [],
  options: { zip64?: boolean } = {},
): Buffer {
  return buildZip(
    [
      { name: `${prefix}/data.pkl`, data: pickle },
      ...Object.entries(storages).map(([k, data]) => ({ name: `${prefix}/data/${k}`, data })),
      { name: `${prefix}/version`, data: Buffer.from("3\n") },
      ...extra,
    ],
    options,
  );
}

export async function writeTemp(dir: string, name: string, data: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

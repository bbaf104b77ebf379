import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileNotFoundError, UnsafePickleError, WeightsFormatError } from "../errors.js";
import {
  buildZip,
  FIXTURES,
  f32Bytes,
  PickleBuilder,
  pushTensor,
  stateDictPickle,
  type TensorSpec,
  tempDir,
  torchZip,
  writeTemp,
  writeZipFile,
} from "./test-utils.js";
import { TorchCheckpoint } from "./torch/checkpoint.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Opens `zip` written to a temp file and expects a typed error whose message names the file and `problem`. */
async function expectOpenError(
  name: string,
  zip: Uint8Array,
  type: typeof WeightsFormatError,
  problem: RegExp,
): Promise<Error> {
  const path = await writeTemp(dir, name, zip);
  const err = await TorchCheckpoint.open(path).then(
    async (c) => {
      await c.close();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  expect(err, "open should fail").toBeInstanceOf(type);
  expect(err!.message).toContain(path);
  expect(err!.message).toMatch(problem);
  return err!;
}

const ONE: TensorSpec = { key: "w", storageKey: "0", storageNumel: 4, shape: [4] };
const goodStorages = { "0": f32Bytes([1, 2, 3, 4]) };

describe("TorchCheckpoint refuses unsafe pickles without executing them", () => {
  it("os.system via GLOBAL (protocol 2) -> UnsafePickleError naming the file and the global; no side effect", async () => {
    const marker = join(dir, "pwned");
    const pkl = new PickleBuilder()
      .proto(2)
      .global("os", "system")
      .bytes(0x71, 0)
      .str(`touch ${marker}`)
      .bytes(0x71, 1, 0x85, 0x71, 2);
    pkl.reduce().bytes(0x71, 3).stop();
    const err = await expectOpenError(
      "os-system.pt",
      torchZip("archive", pkl.build(), {}),
      UnsafePickleError,
      /"os\.system"/,
    );
    expect(err.message).toMatch(/allow-list/);
    expect(existsSync(marker)).toBe(false);
  });

  it("the literal bytes from the brief (\\x80\\x02cos\\nsystem\\n...) are refused at the GLOBAL; /tmp/pwned is not created", async () => {
    const existedBefore = existsSync("/tmp/pwned");
    const bytes = Buffer.from(
      "\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touch /tmp/pwnedq\x01\x85q\x02Rq\x03.",
      "latin1",
    );
    await expectOpenError("brief.pt", torchZip("archive", bytes, {}), UnsafePickleError, /"os\.system"/);
    if (!existedBefore) expect(existsSync("/tmp/pwned")).toBe(false);
  });

  it("builtins.eval via STACK_GLOBAL (protocol 4, framed, memoized) -> UnsafePickleError", async () => {
    const p = new PickleBuilder()
      .proto(4)
      .bytes(0x95, 40, 0, 0, 0, 0, 0, 0, 0)
      .stackGlobal("builtins", "eval")
      .bytes(0x94);
    p.shortStr("__import__('os').system('touch /tmp/pwned-eval')")
      .bytes(0x94, 0x85, 0x94)
      .reduce()
      .bytes(0x94)
      .stop();
    await expectOpenError(
      "eval.pt",
      torchZip("archive", p.build(), {}),
      UnsafePickleError,
      /"builtins\.eval"/,
    );
    expect(existsSync("/tmp/pwned-eval")).toBe(false);
  });

  it.each([
    ["posix", "system"],
    ["subprocess", "Popen"],
    ["__builtin__", "exec"],
    ["builtins", "getattr"],
    ["torch", "load"],
    ["torch.serialization", "load"],
    ["numpy.core.multiarray", "_reconstruct"],
    ["collections", "defaultdict"],
  ])("%s.%s -> UnsafePickleError", async (module, name) => {
    const p = new PickleBuilder().proto(2).global(module, name).emptyTuple().reduce().stop();
    await expectOpenError(
      `${module}-${name}.pt`,
      torchZip("archive", p.build(), {}),
      UnsafePickleError,
      new RegExp(`"${module}\\.${name}"`),
    );
  });

  it("a refused global in the storage-type slot of a persistent id is refused too", async () => {
    const p = new PickleBuilder()
      .proto(2)
      .global("collections", "OrderedDict")
      .emptyTuple()
      .reduce()
      .mark()
      .str("w");
    p.global("torch._utils", "_rebuild_tensor_v2")
      .mark()
      .mark()
      .str("storage")
      .global("os", "system")
      .str("0")
      .str("cpu")
      .int(4)
      .tuple();
    p.binpersid().int(0).ints([4]).ints([1]).newFalse().emptyDict().tuple().reduce().setitems().stop();
    await expectOpenError(
      "smuggle.pt",
      torchZip("archive", p.build(), goodStorages),
      UnsafePickleError,
      /"os\.system"/,
    );
  });

  it("the refusal happens when the GLOBAL is read: an invalid opcode right after it is never reached", async () => {
    const p = new PickleBuilder().proto(2).global("os", "system").bytes(0xff);
    await expectOpenError("early.pt", torchZip("archive", p.build(), {}), UnsafePickleError, /"os\.system"/);
  });

  it("unknown opcodes are a typed format error", async () => {
    const p = new PickleBuilder().proto(2).bytes(0xff).stop();
    const err = await expectOpenError(
      "opcode.pt",
      torchZip("archive", p.build(), {}),
      WeightsFormatError,
      /unknown or unsupported opcode 0xff/,
    );
    expect(err).not.toBeInstanceOf(UnsafePickleError);
  });
});

describe("TorchCheckpoint refuses malformed archives with typed errors", () => {
  it("a truncated checkpoint (fixture cut in half)", async () => {
    const full = await readFile(join(FIXTURES, "release/cobra/checkpoints/latest-checkpoint.pt"));
    await expectOpenError(
      "truncated.pt",
      full.subarray(0, full.length >> 1),
      WeightsFormatError,
      /not a readable zip archive/,
    );
  });

  it("a file that is not a zip at all", async () => {
    await expectOpenError(
      "text.pt",
      Buffer.from("hello, not a zip"),
      WeightsFormatError,
      /not a readable zip archive/,
    );
  });

  it("a missing file -> FileNotFoundError", async () => {
    await expect(TorchCheckpoint.open(join(dir, "nope.pt"))).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it.each([
    ["../evil", /"\.\.\/evil".*unsafe path \("\.\." path segment\)/],
    ["archive/../../evil", /"archive\/\.\.\/\.\.\/evil".*unsafe path/],
    ["/etc/passwd", /"\/etc\/passwd".*unsafe path \(absolute path\)/],
    ["C:/Windows/evil", /"C:\/Windows\/evil".*unsafe path \(absolute path\)/],
    ["archive\\..\\evil", /unsafe path \(backslash\)/],
  ])("zip entry named %s", async (name, problem) => {
    const zip = torchZip("archive", stateDictPickle([ONE]), goodStorages, [{ name, data: Buffer.from("x") }]);
    await expectOpenError("entry.pt", zip, WeightsFormatError, problem);
  });

  it("duplicate entry names", async () => {
    const zip = torchZip("archive", stateDictPickle([ONE]), goodStorages, [
      { name: "archive/data/0", data: f32Bytes([9, 9, 9, 9]) },
    ]);
    await expectOpenError("dup.pt", zip, WeightsFormatError, /"archive\/data\/0" appears twice/);
  });

  it("a persistent id pointing to a missing storage entry names the tensor and the entry", async () => {
    const zip = torchZip(
      "archive",
      stateDictPickle([ONE, { ...ONE, key: "v", storageKey: "7" }]),
      goodStorages,
    );
    await expectOpenError(
      "missing.pt",
      zip,
      WeightsFormatError,
      /tensor "v" uses storage "7", but the zip has no entry "archive\/data\/7"/,
    );
  });

  it("a storage shorter than the tensor needs (the pickle's own numel)", async () => {
    const zip = torchZip("archive", stateDictPickle([{ ...ONE, shape: [2, 3] }]), goodStorages);
    await expectOpenError(
      "short-numel.pt",
      zip,
      WeightsFormatError,
      /tensor "w" F32 \[2,3\] at offset 0 needs 6 elements of storage "0", which holds 4/,
    );
  });

  it("a storage view whose offset runs past the storage", async () => {
    const zip = torchZip("archive", stateDictPickle([{ ...ONE, offset: 2, shape: [3] }]), goodStorages);
    await expectOpenError(
      "short-offset.pt",
      zip,
      WeightsFormatError,
      /needs 5 elements of storage "0", which holds 4/,
    );
  });

  it("a storage entry with fewer bytes than the pickle declares", async () => {
    const zip = torchZip("archive", stateDictPickle([ONE]), { "0": f32Bytes([1, 2, 3]) });
    await expectOpenError(
      "short-bytes.pt",
      zip,
      WeightsFormatError,
      /storage "archive\/data\/0" holds 12 bytes, but the pickle declares 4 F32 elements \(16 bytes\)/,
    );
  });

  it("a compressed (deflated) storage entry", async () => {
    const zip = buildZip([
      { name: "archive/data.pkl", data: stateDictPickle([ONE]) },
      { name: "archive/data/0", data: f32Bytes([1, 2, 3, 4]), method: 8 },
    ]);
    await expectOpenError(
      "deflated.pt",
      zip,
      WeightsFormatError,
      /"archive\/data\/0" is compressed \(method 8\)/,
    );
  });

  it("no data.pkl, or two of them", async () => {
    await expectOpenError(
      "nopkl.pt",
      buildZip([{ name: "archive/data/0", data: f32Bytes([1]) }]),
      WeightsFormatError,
      /no <folder>\/data\.pkl/,
    );
    const two = buildZip([
      { name: "a/data.pkl", data: stateDictPickle([]) },
      { name: "b/data.pkl", data: stateDictPickle([]) },
    ]);
    await expectOpenError("twopkl.pt", two, WeightsFormatError, /several data\.pkl entries/);
  });

  it("a big-endian checkpoint (torch >= 2.1 byteorder record)", async () => {
    const zip = torchZip("archive", stateDictPickle([ONE]), goodStorages, [
      { name: "archive/byteorder", data: Buffer.from("big") },
    ]);
    await expectOpenError("big.pt", zip, WeightsFormatError, /"big"-endian/);
  });

  it("a truncated pickle", async () => {
    const pkl = stateDictPickle([ONE]);
    await expectOpenError(
      "trunc-pkl.pt",
      torchZip("archive", pkl.subarray(0, pkl.length - 10), goodStorages),
      WeightsFormatError,
      /pickle archive\/data\.pkl, byte \d+: truncated/,
    );
  });

  it("a pickle whose top level is not a dict", async () => {
    const p = new PickleBuilder().proto(2).bytes(0x5d).stop(); // []
    await expectOpenError(
      "list.pt",
      torchZip("archive", p.build(), {}),
      WeightsFormatError,
      /holds a tuple\/list of 0, not a dict of tensors/,
    );
  });
});

describe("TorchCheckpoint reads storages lazily and handles views", () => {
  it("opening never touches storage bytes: a broken local header only fails the read of that tensor", async () => {
    const zip = buildZip([
      { name: "ckpt/data.pkl", data: stateDictPickle([ONE, { ...ONE, key: "u", storageKey: "1" }]) },
      { name: "ckpt/data/0", data: f32Bytes([1, 2, 3, 4]), badLocalHeader: true },
      { name: "ckpt/data/1", data: f32Bytes([5, 6, 7, 8]) },
    ]);
    const path = await writeTemp(dir, "lazy.pt", zip);
    const c = await TorchCheckpoint.open(path);
    try {
      expect(c.info("w")).toEqual({ dtype: "F32", shape: [4] });
      expect(Array.from((await c.read("u")).data as Float32Array)).toEqual([5, 6, 7, 8]);
      const err = await c.read("w").catch((e: Error) => e);
      expect(err).toBeInstanceOf(WeightsFormatError);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toMatch(/"ckpt\/data\/0": no local file header/);
    } finally {
      await c.close();
    }
  });

  it("storage offsets, shared storages, non-contiguous views, nested dicts, _metadata and non-tensor values", async () => {
    const storage = f32Bytes(Array.from({ length: 12 }, (_, i) => i));
    // {"epoch": 3, "model": OrderedDict(...) with BUILD state {"_metadata": ...}} like a real state_dict.
    const outer = new PickleBuilder().proto(2).emptyDict().mark().str("epoch").int(3).str("model");
    outer.global("collections", "OrderedDict").emptyTuple().reduce().mark();
    for (const [k, t] of [
      ["view", { offset: 2, shape: [2, 3] }],
      ["transposed", { shape: [3, 2], stride: [1, 3] }],
      ["whole", { shape: [12] }],
      ["empty", { offset: 12, shape: [0, 5] }],
    ] as const)
      pushTensor(outer.str(k), {
        key: k,
        storageKey: "s",
        storageNumel: 12,
        ...t,
        shape: [...t.shape],
        stride: "stride" in t ? [...t.stride] : undefined,
      });
    outer.setitems();
    outer
      .emptyDict()
      .str("_metadata")
      .global("collections", "OrderedDict")
      .emptyTuple()
      .reduce()
      .str("")
      .emptyDict()
      .setitem()
      .setitem();
    outer.bytes(0x62).setitems().stop();

    const path = await writeTemp(dir, "views.pt", torchZip("weird name=1", outer.build(), { s: storage }));
    const c = await TorchCheckpoint.open(path);
    try {
      expect(c.prefix).toBe("weird name=1");
      expect(c.keys().sort()).toEqual(["model.empty", "model.transposed", "model.view", "model.whole"]);
      expect(c.storageCount).toBe(1);
      const values = async (k: string) => Array.from((await c.read(k)).data as Float32Array);
      expect(await values("model.view")).toEqual([2, 3, 4, 5, 6, 7]);
      expect(await values("model.transposed")).toEqual([0, 3, 1, 4, 2, 5]);
      expect(await values("model.whole")).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(await c.read("model.empty")).toEqual({ dtype: "F32", shape: [0, 5], data: new Float32Array(0) });
      expect(c.location("model.transposed")).toMatchObject({
        contiguous: false,
        byteOffset: 0,
        byteLength: 24,
      });
      expect(c.location("model.view")).toMatchObject({
        contiguous: true,
        byteOffset: 8,
        byteLength: 24,
        entry: "weird name=1/data/s",
      });
    } finally {
      await c.close();
    }
  });

  it("ZIP64 archives (as torch writes past 4 GiB): sizes and offsets come from the ZIP64 extra fields", async () => {
    const specs: TensorSpec[] = [
      { key: "a", storageKey: "0", storageNumel: 4, shape: [2, 2] },
      { key: "b", storageKey: "1", storageNumel: 3, offset: 1, shape: [2] },
    ];
    const zip = torchZip(
      "archive",
      stateDictPickle(specs),
      { "0": f32Bytes([1, 2, 3, 4]), "1": f32Bytes([5, 6, 7]) },
      [],
      { zip64: true },
    );
    const c = await TorchCheckpoint.open(await writeTemp(dir, "zip64.pt", zip));
    try {
      expect(Array.from((await c.read("a")).data as Float32Array)).toEqual([1, 2, 3, 4]);
      expect(Array.from((await c.read("b")).data as Float32Array)).toEqual([6, 7]);
    } finally {
      await c.close();
    }
  });

  it("a 5 GiB (sparse) ZIP64 checkpoint opens without reading its storages and reads views past 4 GiB", async () => {
    const big = 5 * 2 ** 30;
    const numelBig = big / 4;
    const specs: TensorSpec[] = [
      { key: "whole", storageKey: "big", storageNumel: numelBig, shape: [numelBig / 1024, 1024] },
      { key: "tail", storageKey: "big", storageNumel: numelBig, offset: numelBig - 4, shape: [4] },
      { key: "after", storageKey: "1", storageNumel: 4, shape: [4] },
    ];
    const path = join(dir, "sparse.pt");
    await writeZipFile(
      path,
      [
        { name: "archive/data.pkl", data: stateDictPickle(specs) },
        { name: "archive/data/big", data: f32Bytes([1, 2, 3, 4]), sparseSize: big },
        { name: "archive/data/1", data: f32Bytes([5, 6, 7, 8]) },
      ],
      { zip64: true },
    );
    const c = await TorchCheckpoint.open(path);
    try {
      expect(c.info("whole")).toEqual({ dtype: "F32", shape: [numelBig / 1024, 1024] });
      expect(c.location("whole").byteLength).toBe(big);
      expect(c.location("tail").byteOffset).toBe(big - 16);
      expect(Array.from((await c.read("tail")).data as Float32Array)).toEqual([1, 2, 3, 4]);
      expect(Array.from((await c.read("after")).data as Float32Array)).toEqual([5, 6, 7, 8]);
    } finally {
      await c.close();
      await rm(path);
    }
  });

  it("storage dtypes: Half, BFloat16, Double, Long, Int, Bool", async () => {
    const half = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]); // 1, -2, 65504, 2^-24
    const bf16 = Uint16Array.from([0x3f80, 0xc040, 0x0000, 0x7f80]); // 1, -3, 0, +inf
    const f64 = Float64Array.from([0.1, -1e300]);
    const i64 = BigInt64Array.from([-1n, 2n ** 40n]);
    const i32 = Int32Array.from([-7, 123456]);
    const bool = Uint8Array.from([1, 0, 1]);
    const specs: TensorSpec[] = [
      { key: "half", storageKey: "0", storageType: "HalfStorage", storageNumel: 4, shape: [2, 2] },
      { key: "bf16", storageKey: "1", storageType: "BFloat16Storage", storageNumel: 4, shape: [4] },
      { key: "f64", storageKey: "2", storageType: "DoubleStorage", storageNumel: 2, shape: [2] },
      { key: "i64", storageKey: "3", storageType: "LongStorage", storageNumel: 2, shape: [2] },
      { key: "i32", storageKey: "4", storageType: "IntStorage", storageNumel: 2, shape: [2] },
      { key: "bool", storageKey: "5", storageType: "BoolStorage", storageNumel: 3, shape: [3] },
    ];
    const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const zip = torchZip("archive", stateDictPickle(specs, ["model"]), {
      "0": bytes(half),
      "1": bytes(bf16),
      "2": bytes(f64),
      "3": bytes(i64),
      "4": bytes(i32),
      "5": bool,
    });
    const c = await TorchCheckpoint.open(await writeTemp(dir, "dtypes.pt", zip));
    try {
      expect(c.info("model.half")).toEqual({ dtype: "F16", shape: [2, 2] });
      expect(c.info("model.bf16")).toEqual({ dtype: "BF16", shape: [4] });
      const half32 = await c.read("model.half");
      expect(half32.dtype).toBe("F32");
      expect(Array.from(half32.data as Float32Array)).toEqual([1, -2, 65504, 2 ** -24]);
      expect(Array.from((await c.read("model.bf16")).data as Float32Array)).toEqual([
        1,
        -3,
        0,
        Number.POSITIVE_INFINITY,
      ]);
      expect(Array.from((await c.read("model.f64")).data as Float32Array)).toEqual([
        Math.fround(0.1),
        Number.NEGATIVE_INFINITY,
      ]);
      const long = await c.read("model.i64");
      expect(long.dtype).toBe("I64");
      expect(Array.from(long.data as BigInt64Array)).toEqual([-1n, 2n ** 40n]);
      expect(Array.from((await c.read("model.i32")).data as Int32Array)).toEqual([-7, 123456]);
      expect(await c.read("model.bool")).toEqual({
        dtype: "BOOL",
        shape: [3],
        data: Uint8Array.from([1, 0, 1]),
      });
      expect((await c.readRaw("model.bf16")).equals(Buffer.from(bytes(bf16)))).toBe(true);
    } finally {
      await c.close();
    }
  });
});

import { readFile, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WeightsFormatError } from "../errors.js";
import { numel } from "../tensor.js";
import { SafetensorsFile, writeSafetensors } from "./safetensors.js";
import { FIXTURES, tempDir, writeTemp } from "./test-utils.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("SafetensorsFile on the fixtures", () => {
  it("release/dino/model.safetensors: 63 tensors, pos_embed [1,1369,32] with finite values", async () => {
    const st = await SafetensorsFile.open(join(FIXTURES, "release/dino/model.safetensors"));
    try {
      expect(st.keys().length).toBe(63);
      expect(st.metadata).toEqual({ format: "pt" });
      expect(st.info("pos_embed")).toEqual({ dtype: "F32", shape: [1, 37 * 37, 32] });
      const pe = await st.read("pos_embed");
      expect(pe.data.length).toBe(1369 * 32);
      expect((pe.data as Float32Array).every(Number.isFinite)).toBe(true);
      // Smooth random pos_embed: not all zero, not constant.
      expect(new Set(pe.data as Float32Array).size).toBeGreaterThan(1000);
      for (const key of st.keys()) {
        const t = await st.read(key);
        expect(t.data.length, key).toBe(numel(st.info(key).shape));
      }
      expect(st.keys()).toEqual(
        expect.arrayContaining(["cls_token", "reg_token", "patch_embed.proj.weight", "blocks.3.ls2.gamma"]),
      );
    } finally {
      await st.close();
    }
  });

  it("expected/tensors.safetensors reads fully: u8 pixels, f32 everything else", async () => {
    const st = await SafetensorsFile.open(join(FIXTURES, "expected/tensors.safetensors"));
    try {
      const keys = st.keys();
      expect(keys.length).toBe(28);
      for (const key of keys) {
        const info = st.info(key);
        const t = await st.read(key);
        if (key.startsWith("pixels/")) {
          expect(info).toEqual({ dtype: "U8", shape: [1, 3, 384, 384] });
          expect(t.data).toBeInstanceOf(Uint8Array);
        } else {
          expect(info.dtype, key).toBe("F32");
          expect((t.data as Float32Array).every(Number.isFinite), key).toBe(true);
        }
        expect(t.data.length, key).toBe(numel(info.shape));
      }
      expect(st.info("dino/pos_embed_resampled").shape).toEqual([1, 729, 32]);
      expect(st.info("projected/astronaut").shape).toEqual([1, 729, 16]);
      expect(st.info("logits/astronaut_basic/prefill").shape).toEqual([1, 50280]);
    } finally {
      await st.close();
    }
  });
});

describe("writeSafetensors / SafetensorsFile round trip", () => {
  it("F32, F16, BF16, I64 with hand-computed values", async () => {
    const path = join(dir, "roundtrip.safetensors");
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x7c00, 0x0400]); // 1, -2, 0.333251953125, +inf, 2^-14
    const bf16 = Uint16Array.from([0x3f80, 0x4049, 0xbf00, 0x0000]); // 1, 3.140625, -0.5, 0
    const i64 = BigInt64Array.from([-1n, 2n ** 53n + 1n, 0n]);
    await writeSafetensors(
      path,
      {
        f32: { dtype: "F32", shape: [2, 2], data: Float32Array.from([1.5, -2, 0.1, 1e-40]) },
        f16: { dtype: "F16", shape: [5], data: f16 },
        bf16: { dtype: "BF16", shape: [2, 2], data: bf16 },
        i64: { dtype: "I64", shape: [3], data: i64 },
      },
      { format: "pt", note: "test" },
    );
    const file = await readFile(path);
    const headerLen = Number(file.readBigUInt64LE(0));
    expect(headerLen % 8).toBe(0);
    const st = await SafetensorsFile.open(path);
    try {
      expect(st.metadata).toEqual({ format: "pt", note: "test" });
      expect(st.keys().sort()).toEqual(["bf16", "f16", "f32", "i64"]);
      expect(st.info("f16")).toEqual({ dtype: "F16", shape: [5] });
      const a = await st.read("f32");
      expect(a).toEqual({
        dtype: "F32",
        shape: [2, 2],
        data: Float32Array.from([1.5, -2, Math.fround(0.1), Math.fround(1e-40)]),
      });
      const h = await st.read("f16");
      expect(h.dtype).toBe("F32");
      expect(Array.from(h.data as Float32Array)).toEqual([
        1,
        -2,
        0.333251953125,
        Number.POSITIVE_INFINITY,
        2 ** -14,
      ]);
      const b = await st.read("bf16");
      expect(b).toMatchObject({ dtype: "F32", shape: [2, 2] });
      expect(Array.from(b.data as Float32Array)).toEqual([1, 3.140625, -0.5, 0]);
      const l = await st.read("i64");
      expect(l.dtype).toBe("I64");
      expect(Array.from(l.data as BigInt64Array)).toEqual([-1n, 2n ** 53n + 1n, 0n]);
      expect((await st.readRaw("bf16")).equals(Buffer.from(bf16.buffer))).toBe(true);
    } finally {
      await st.close();
    }
  });

  it("refuses to write data whose size does not match the shape", async () => {
    const path = join(dir, "bad-write.safetensors");
    await expect(
      writeSafetensors(path, { x: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
    ).rejects.toThrow(/x: 8 bytes given for F32 \[3\] \(12 expected\)/);
  });
});

/** A safetensors file from a header (object or raw text) and data bytes. */
function rawSafetensors(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  declaredLength?: number,
): Buffer {
  const text = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(declaredLength ?? text.length));
  return Buffer.concat([len, text, data]);
}

describe("SafetensorsFile refuses bad input with a WeightsFormatError naming the file and the problem", () => {
  const expectOpenError = async (name: string, bytes: Uint8Array, problem: RegExp) => {
    const path = await writeTemp(dir, name, bytes);
    const err = await SafetensorsFile.open(path).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(WeightsFormatError);
    expect(err!.message).toContain(path);
    expect(err!.message).toMatch(problem);
  };

  it("a truncated file", async () => {
    const path = join(dir, "truncated.safetensors");
    await writeSafetensors(path, { a: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
    await truncate(path, (await readFile(path)).length - 3);
    const err = await SafetensorsFile.open(path).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WeightsFormatError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(
      /a: data_offsets \[0, 16\] run past the end of the data \(13 bytes\); the file is truncated/,
    );
  });

  it("a file shorter than the length prefix", async () => {
    await expectOpenError(
      "tiny.safetensors",
      Buffer.from([1, 2, 3]),
      /3 bytes, shorter than the 8-byte header length/,
    );
  });

  it("a header length past the end of the file", async () => {
    await expectOpenError(
      "hdrlen.safetensors",
      rawSafetensors({}, new Uint8Array(0), 1000),
      /header length 1000 runs past the end of the file \(10 bytes\)/,
    );
  });

  it("overlapping data offsets", async () => {
    const header = {
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    };
    await expectOpenError(
      "overlap.safetensors",
      rawSafetensors(header, new Uint8Array(12)),
      /tensors "a" and "b" have overlapping data offsets/,
    );
  });

  it("a byte count that does not match dtype and shape", async () => {
    const header = { a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } };
    await expectOpenError(
      "size.safetensors",
      rawSafetensors(header, new Uint8Array(8)),
      /a: 8 bytes stored but F32 \[3\] needs 12/,
    );
  });

  it("invalid JSON", async () => {
    await expectOpenError(
      "json.safetensors",
      rawSafetensors('{"a": {"dtype": "F32",'),
      /header is not valid JSON/,
    );
  });

  it("an unknown dtype", async () => {
    const header = { a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } };
    await expectOpenError(
      "dtype.safetensors",
      rawSafetensors(header, new Uint8Array(1)),
      /a: unknown dtype "F8_E4M3"/,
    );
  });
});

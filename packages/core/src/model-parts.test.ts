import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, ModelFormatError } from "./errors.js";
import {
  type ModelPart,
  type PartLoader,
  PartLoaderRegistry,
  parseConfig,
  partGraph,
  UnknownPartKindError,
} from "./model-parts.js";

const tokenizer = (kind: string, packageName: string): PartLoader<"tokenizer"> => ({
  kind,
  slot: "tokenizer",
  packageName,
  check: () => {},
  load: async () => ({ vocabSize: 1, encode: () => [], decode: () => kind, eosId: 0 }) as never,
});
const projector = (kind: string): PartLoader<"projector"> => ({
  kind,
  slot: "projector",
  packageName: "pkg-b",
  check: () => {},
  load: async () => ({ project: async (f) => f }),
});

describe("PartLoaderRegistry", () => {
  it("finds a loader by slot and kind; a later registration of the same kind replaces the earlier", () => {
    const first = tokenizer("bpe", "pkg-a");
    const mine = tokenizer("bpe", "mine");
    const registry = new PartLoaderRegistry([first, projector("mlp")]);
    expect(registry.get("tokenizer", "bpe", "m")).toBe(first);
    registry.register(mine);
    expect(registry.get("tokenizer", "bpe", "m")).toBe(mine);
  });

  it("an unknown kind names it, the slot's kinds and every package that registers kinds", () => {
    const registry = new PartLoaderRegistry([
      tokenizer("bpe", "pkg-a"),
      projector("mlp"),
      projector("linear"),
    ]);
    const get = () => registry.get("projector", "mlp-9000", "cobra.json parts.projector");
    expect(get).toThrow(UnknownPartKindError);
    expect(get).toThrow(ModelFormatError);
    expect(get).toThrow(
      'cobra.json parts.projector: no loader for part kind "mlp-9000" (slot projector); the registered kinds are "mlp", "linear", from pkg-a, pkg-b',
    );
    // A kind registered for another slot is not this slot's.
    expect(() => registry.get("projector", "bpe", "x")).toThrow(
      /no loader for part kind "bpe" \(slot projector\)/,
    );
  });
});

describe("parseConfig", () => {
  it("names the field of the first problem, nested and indexed", () => {
    const schema = z.object({ towers: z.array(z.object({ depth: z.number().int() })) });
    expect(parseConfig(schema, { towers: [{ depth: 2 }] }, "w")).toEqual({ towers: [{ depth: 2 }] });
    expect(() =>
      parseConfig(schema, { towers: [{ depth: 2 }, { depth: "x" }] }, "cobra.json parts.encoder.config"),
    ).toThrow(/^cobra\.json parts\.encoder\.config\.towers\[1\]\.depth: .*expected number/);
    expect(() => parseConfig(schema, { towers: [{ depth: 2.5 }] }, "c")).toThrow(ConfigError);
    expect(() => parseConfig(schema, 3, "c", ModelFormatError)).toThrow(ModelFormatError);
  });
});

describe("partGraph", () => {
  const part: ModelPart = {
    kind: "k",
    files: ["g.onnx", "g.onnx.data", "g.onnx.data.1", "other.onnx"].map((path) => ({
      path,
      size: 1,
      sha256: "",
    })),
    config: {},
    dtype: "fp32",
  };
  const reader = (local: boolean) => ({
    where: "/m",
    size: async () => 1,
    bytes: async (path: string) => new TextEncoder().encode(path),
    sha256: async () => "",
    ...(local ? { localPath: (path: string) => `/m/${path}` } : {}),
  });

  it("gives onnxruntime a path where the reader has one, naming the data files on wasm only", async () => {
    const context = (backend: "cpu" | "wasm") => ({ reader: reader(true), runtime: { backend }, where: "p" });
    expect(await partGraph(part, "g.onnx", context("cpu"))).toEqual({
      model: "/m/g.onnx",
      externalData: undefined,
    });
    expect(await partGraph(part, "g.onnx", context("wasm"))).toEqual({
      model: "/m/g.onnx",
      externalData: [
        { path: "g.onnx.data", data: "/m/g.onnx.data" },
        { path: "g.onnx.data.1", data: "/m/g.onnx.data.1" },
      ],
    });
  });

  it("reads bytes where there is no path, and refuses a graph the part does not list", async () => {
    const context = { reader: reader(false), runtime: { backend: "wasm" as const }, where: "parts.x" };
    const got = await partGraph(part, "g.onnx", context);
    expect(new TextDecoder().decode(got.model as Uint8Array)).toBe("g.onnx");
    expect(got.externalData?.map((d) => d.path)).toEqual(["g.onnx.data", "g.onnx.data.1"]);
    await expect(partGraph(part, "h.onnx", context)).rejects.toThrow(
      "parts.x: the graph h.onnx is not among the part's files",
    );
  });
});

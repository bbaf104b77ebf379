// Table-driven loading: cobra.json format 3 names each part's kind; the registered loaders check the whole
// manifest (kinds, configs, file sizes, hashes) before any graph is opened, and an older folder is refused
// with the command that writes it again.
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AnyPartLoader,
  ConfigError,
  InvalidArgumentError,
  ModelFormatError,
  type ModelPart,
  type PartLoadContext,
  UnknownPartKindError,
} from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/run-cli.js";
import { convertRelease } from "../src/convert/convert.js";
import { FORMAT_VERSION } from "../src/manifest.js";
import { blobReader } from "../src/runtime/file-readers.js";
import { Cobra, NODE_PART_LOADERS } from "../src/runtime/load-node.js";
import { verifyModelFolder } from "../src/runtime/load-parts.js";
import { nodeReader } from "../src/runtime/node-reader.js";
import { synthesizeModel } from "../src/synth/synthesize.js";
import { CASES, captureIO, caseRequest, RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-load-parts-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: edits of parsed JSON
type Json = Record<string, any>;

/** A copy of the model whose cobra.json `edit` changed. */
async function withManifest(name: string, edit: (m: Json) => void): Promise<string> {
  const dir = join(work, name);
  await cp(model, dir, { recursive: true });
  const m = JSON.parse(await readFile(join(dir, "cobra.json"), "utf8"));
  edit(m);
  await writeFile(join(dir, "cobra.json"), JSON.stringify(m));
  return dir;
}

/** Every built-in loader, each counting the parts it is asked to load (a graph opened means a load). */
function countingLoaders(): { loaders: AnyPartLoader[]; loads: string[] } {
  const loads: string[] = [];
  const loaders = NODE_PART_LOADERS.map(
    (l) =>
      ({
        ...l,
        load: (part: ModelPart, context: PartLoadContext) => {
          loads.push(l.kind);
          return l.load(part, context);
        },
      }) as AnyPartLoader,
  );
  return { loaders, loads };
}

describe("cobra.json format 3", () => {
  it("lists each part as { kind, files with size and sha256, config, dtype }", async () => {
    const m = JSON.parse(await readFile(join(model, "cobra.json"), "utf8"));
    expect(m.formatVersion).toBe(FORMAT_VERSION);
    expect(FORMAT_VERSION).toBe(3);
    expect(Object.keys(m.parts)).toEqual(["encoder", "projector", "lm", "tokenizer"]);
    expect(m.parts.encoder).toMatchObject({ kind: "fused-vit", dtype: "fp32" });
    expect(m.parts.projector).toMatchObject({ kind: "fused-gelu-mlp", dtype: "fp32" });
    expect(m.parts.lm).toMatchObject({ kind: "mamba-lm", dtype: "fp32", config: { graph: "lm.onnx" } });
    expect(m.parts.tokenizer.kind).toBe("mamba-tokenizer");
    for (const part of Object.values(m.parts) as Json[])
      for (const f of part.files)
        expect(f).toEqual({ path: f.path, size: f.size, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(m.parts.lm.files.map((f: Json) => f.path)).toEqual(["lm.onnx", "lm.onnx.data"]);
    // The LM config is stored once: in the part, not in an lm.json beside it.
    await expect(readFile(join(model, "lm.json"))).rejects.toThrow();
    expect(m.settings).toEqual({ llmBackboneId: "mamba-2.8b-zephyr", maxPromptLength: 2048 });
  });

  it("loads through the registered loaders, one per part, and answers like the oracle", async () => {
    const { loaders, loads } = countingLoaders();
    const cobra = await Cobra.load(model, { loaders });
    try {
      expect(loads).toEqual(["fused-vit", "fused-gelu-mlp", "mamba-lm", "mamba-tokenizer"]);
      const r = await cobra.generate(caseRequest(CASES[0]));
      expect(r.ids).toEqual(CASES[0].greedy_ids);
    } finally {
      await cobra.release();
    }
  });
});

describe("the manifest is checked before any graph is opened", () => {
  it("an unknown kind: a typed error naming the kind, the slot's kinds and the packages that register kinds", async () => {
    const dir = await withManifest("unknown-kind", (m) => {
      m.parts.projector.kind = "mlp-9000";
    });
    const { loaders, loads } = countingLoaders();
    const load = Cobra.load(dir, { loaders });
    await expect(load).rejects.toThrow(UnknownPartKindError);
    const e: UnknownPartKindError = await load.catch((x) => x);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.kind).toBe("mlp-9000");
    expect(e.message).toContain('no loader for part kind "mlp-9000" (slot projector)');
    expect(e.message).toMatch(/"linear", "gelu-mlp", "fused-gelu-mlp", "fused-ldpnet", "ldpnet"/);
    expect(e.packages).toEqual(["@cobra-ts/vision-encoder", "@cobra-ts/projector", "@cobra-ts/mamba-lm"]);
    expect(e.message).toContain("@cobra-ts/vision-encoder, @cobra-ts/projector, @cobra-ts/mamba-lm");
    expect(loads).toEqual([]);
  });

  it("a bad config: a ConfigError naming the field", async () => {
    const cases: [string, (m: Json) => void, RegExp][] = [
      [
        "lm-dmodel",
        (m) => {
          m.parts.lm.config.model.dModel = "wide";
        },
        /cobra\.json parts\.lm\.config\.model\.dModel: .*expected number/,
      ],
      [
        "tower-depth",
        (m) => {
          delete m.parts.encoder.config.towers[1].vit.depth;
        },
        /cobra\.json parts\.encoder\.config\.towers\[1\]\.vit\.depth: /,
      ],
      [
        "projector-dims",
        (m) => {
          m.parts.projector.config.numTokens = -1;
        },
        /cobra\.json parts\.projector\.config\.numTokens: /,
      ],
      [
        "lm-derived",
        (m) => {
          m.parts.lm.config.model.vocabSizePadded += 8;
        },
        /parts\.lm\.config\.model\.vocabSizePadded: \d+, the other fields make it \d+/,
      ],
      [
        "dtype against the graph's options",
        (m) => {
          m.parts.lm.dtype = "q4";
        },
        /parts\.lm\.dtype: "q4", but config\.options\.quantization says fp32/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      const { loaders, loads } = countingLoaders();
      const load = Cobra.load(await withManifest(name, edit), { loaders });
      await expect(load, name).rejects.toThrow(ConfigError);
      await expect(load, name).rejects.toThrow(message);
      expect(loads, name).toEqual([]);
    }
  });

  it("a config the graph contradicts: a ModelFormatError once the graph shows it", async () => {
    const dir = await withManifest("lm-dinner", (m) => {
      m.parts.lm.config.model.dInner += 1;
    });
    await expect(Cobra.load(dir)).rejects.toThrow(
      /parts\.lm: the graph lm\.onnx has n_layer \d+, d_model \d+, d_inner 32, d_state \d+; the config says \d+, \d+, 33, \d+/,
    );
  });

  it("a bad manifest field: a ModelFormatError naming it", async () => {
    const dir = await withManifest("bad-sha", (m) => {
      m.parts.lm.files[1].sha256 = "not-a-hash";
    });
    await expect(Cobra.load(dir)).rejects.toThrow(
      /cobra\.json\.parts\.lm\.files\[1\]\.sha256: must be 64 hex digits/,
    );
    const leaving = await withManifest("escape", (m) => {
      m.parts.tokenizer.files[0].path = "../secrets.json";
    });
    await expect(Cobra.load(leaving)).rejects.toThrow(/"\.\.\/secrets\.json" leaves the model folder/);
  });

  it("a resized file is refused before any graph is opened; a modified one with verify", async () => {
    const resized = join(work, "resized");
    await cp(model, resized, { recursive: true });
    await truncate(join(resized, "projector.onnx.data"), 100);
    let counting = countingLoaders();
    await expect(Cobra.load(resized, { loaders: counting.loaders })).rejects.toThrow(
      /projector\.onnx\.data has 100 bytes, cobra\.json lists \d+: it is truncated or replaced; convert the model again/,
    );
    expect(counting.loads).toEqual([]);

    const modified = join(work, "modified");
    await cp(model, modified, { recursive: true });
    const data = await readFile(join(modified, "lm.onnx.data"));
    data[data.length >> 1] ^= 0xff;
    await writeFile(join(modified, "lm.onnx.data"), data);
    counting = countingLoaders();
    await expect(Cobra.load(modified, { loaders: counting.loaders, verify: true })).rejects.toThrow(
      /lm\.onnx\.data has sha256 [0-9a-f]{64}, cobra\.json lists [0-9a-f]{64}: it was modified or corrupted/,
    );
    expect(counting.loads).toEqual([]);
  });

  it("cobra verify's check is the loader's, through any reader: a folder on disk and the same files picked", async () => {
    const dir = join(work, "verify-readers");
    await cp(model, dir, { recursive: true });
    await truncate(join(dir, "projector.onnx.data"), 100);
    const lm = await readFile(join(dir, "lm.onnx.data"));
    lm[7] ^= 0x01;
    await writeFile(join(dir, "lm.onnx.data"), lm);
    const listed: { path: string; size: number }[] = Object.values(
      JSON.parse(await readFile(join(model, "cobra.json"), "utf8")).parts as Json,
    ).flatMap((p: Json) => p.files);
    const paths = [...new Set(listed.map((f) => f.path))];
    const picked = new Map<string, Blob>();
    for (const path of [...paths, "cobra.json"])
      picked.set(path, new Blob([await readFile(join(dir, path))]));

    const progress: number[] = [];
    const fromDisk = await verifyModelFolder(nodeReader(dir), { onProgress: (p) => progress.push(p.done) });
    const fromPicked = await verifyModelFolder(blobReader(picked));
    expect(fromPicked).toEqual(fromDisk);
    expect(fromDisk.map((c) => c.path)).toEqual(paths);
    const bad = Object.fromEntries(fromDisk.filter((c) => c.problem).map((c) => [c.path, c.problem]));
    expect(Object.keys(bad).sort()).toEqual(["lm.onnx.data", "projector.onnx.data"]);
    expect(bad["projector.onnx.data"]).toMatch(/^projector\.onnx\.data has 100 bytes, cobra\.json lists \d+/);
    expect(bad["lm.onnx.data"]).toMatch(/^lm\.onnx\.data has sha256 [0-9a-f]{64}, cobra\.json lists/);
    // Progress counts up to the listed total (a file refused by its size counts as done, unread).
    const total = paths.reduce((s, p) => s + listed.find((f) => f.path === p)!.size, 0);
    expect(progress.at(-1)).toBe(total);
    expect(progress.every((done, i) => i === 0 || done >= progress[i - 1])).toBe(true);
  });

  it("a scan form that does not exist: an InvalidArgumentError, and no part is loaded", async () => {
    const { loaders, loads } = countingLoaders();
    const scan = "wgsl" as unknown as "kernel";
    await expect(Cobra.load(model, { loaders, scan })).rejects.toThrow(InvalidArgumentError);
    await expect(Cobra.load(model, { loaders, scan })).rejects.toThrow(
      'scan must be "graph" or "kernel", got "wgsl"',
    );
    expect(loads).toEqual([]);
  });

  it("a language-model-only folder is no Cobra: the error says what loads it", async () => {
    const dir = await withManifest("lm-only", (m) => {
      delete m.parts.encoder;
      delete m.parts.projector;
    });
    await expect(Cobra.load(dir)).rejects.toThrow(
      /has no encoder part: it is a language model only.*MambaLM\.load/,
    );
  });
});

describe("a format-2 folder is refused with the command that writes it again", () => {
  /** The format-2 cobra.json of an earlier version, as it was written. */
  const format2 = (modelId: string, source: Json) =>
    JSON.stringify({
      format: "cobra-ts",
      formatVersion: 2,
      modelId,
      vision: { strategy: "resize-naive", imageSize: 384, encoders: [], numPatches: 729 },
      projector: { arch: "no-align+fused-gelu-mlp", graph: "projector.onnx" },
      lm: { graph: "lm.onnx", config: {}, tokenizer: "tokenizer.json", maxLength: 2048 },
      llmBackboneId: "mamba-2.8b-zephyr",
      dtype: "fp32",
      source,
      files: [],
    });

  it("a conversion of the release names convert --release; another checkpoint, the source flags", async () => {
    const dir = join(work, "old-release");
    await cp(model, dir, { recursive: true });
    await writeFile(join(dir, "cobra.json"), format2("cobra+3b", { fingerprint: "abc" }));
    await expect(Cobra.load(dir)).rejects.toThrow(ModelFormatError);
    await expect(Cobra.load(dir)).rejects.toThrow(
      `${dir}/cobra.json is format 2, written by an older cobra-ts; this version reads format 3. Write the folder again: npx cobra convert --release cobra+3b --out ${dir}`,
    );
    await writeFile(join(dir, "cobra.json"), format2("cobra-tiny", { fingerprint: "abc" }));
    await expect(Cobra.load(dir)).rejects.toThrow(
      `npx cobra convert --checkpoint <run folder> --dino <folder> --siglip <folder> --llm <folder> --out ${dir}`,
    );
  });

  it("a synthetic folder names synth with its preset and seed, and that command makes it load", async () => {
    const dir = join(work, "old-synth");
    await synthesizeModel("test-tiny-cobra", { out: dir, seed: 3 });
    await writeFile(
      join(dir, "cobra.json"),
      format2("cobra-test-tiny", { synthetic: "test-tiny-cobra", seed: "3" }),
    );
    const refused: Error = await Cobra.load(dir).catch((e) => e);
    expect(refused.message).toContain(
      `Write the folder again: npx cobra synth --preset test-tiny-cobra --seed 3 --out ${dir}`,
    );
    // What the message says to run, run as it says (the synth marker lets it replace the folder).
    const command = /npx cobra (.*)$/.exec(refused.message)![1].split(" ");
    const io = captureIO();
    expect(await runCli(command, io), io.err).toBe(0);
    const cobra = await Cobra.load(dir);
    await cobra.release();
  });

  it("a newer format asks for a newer cobra-ts", async () => {
    const dir = await withManifest("newer", (m) => {
      m.formatVersion = 4;
    });
    await expect(Cobra.load(dir)).rejects.toThrow(
      /is format 4, this cobra-ts reads format 3: update cobra-ts/,
    );
  });
});

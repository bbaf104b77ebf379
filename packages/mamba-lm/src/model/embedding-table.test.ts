import { mkdtemp, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GraphBuilder, inspectModel, ModelFormatError, serializeModel } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLanguageModel } from "../graph/convert.js";
import { writeLanguageModel } from "../graph/write-language-model.js";
import { fixtureConfig, openCheckpoint } from "../test-support/fixture.js";
import { EMBEDDING, MambaWeights } from "../weights/mamba-weights.js";
import { embeddingFromFile } from "./embedding-file.js";
import { EmbeddingTable } from "./embedding-table.js";
import { MambaLM } from "./mamba-lm-node.js";

let dir = "";
let embedding: Float32Array;
let inline: Uint8Array;
const { dModel: d } = fixtureConfig();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedding-table-"));
  const source = await openCheckpoint();
  embedding = (await MambaWeights.from(source).read(EMBEDDING)).data as Float32Array;
  inline = (await buildLanguageModel(source, fixtureConfig())).model;
  await writeLanguageModel(join(dir, "lm"), source, fixtureConfig());
  await source.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const ids = BigInt64Array.from([0n, 7n, 3n, 7n, BigInt(fixtureConfig().vocabSizePadded - 1)]);
const expectedRows = () => {
  const out = new Float32Array(ids.length * d);
  for (const [i, id] of ids.entries())
    out.set(embedding.subarray(Number(id) * d, (Number(id) + 1) * d), i * d);
  return out;
};

describe("EmbeddingTable: token rows read outside onnxruntime", () => {
  it("gives the checkpoint's embedding rows from a model's bytes and from a converted folder's data file", async () => {
    const inlineCopy = inline.slice();
    const fromBytes = EmbeddingTable.fromBytes(inspectModel(inlineCopy), undefined, "inline");
    const graph = join(dir, "lm", "lm.onnx");
    const fromFile = await embeddingFromFile(inspectModel(await readFile(graph)), graph);
    const dataFile = new Uint8Array(await readFile(join(dir, "lm", "lm.onnx.data")));
    const fromExternalBytes = EmbeddingTable.fromBytes(
      inspectModel(await readFile(graph)),
      [{ path: "lm.onnx.data", data: dataFile }],
      "bytes + external data",
    );
    // The tables hold copies, not views that would keep the whole given buffers alive: overwriting those changes
    // no row.
    inlineCopy.fill(0);
    dataFile.fill(0);
    for (const table of [fromBytes, fromFile, fromExternalBytes]) {
      expect([table.vocab, table.dModel]).toEqual([fixtureConfig().vocabSizePadded, d]);
      const out = new Float32Array(ids.length * d);
      await table.lookup(ids, out);
      expect(out).toEqual(expectedRows());
      await table.close();
    }
  });

  it("refuses external data that is missing, given as a path, or cut short, before onnxruntime opens anything", async () => {
    const graph = await readFile(join(dir, "lm", "lm.onnx"));
    await expect(MambaLM.load({ model: graph })).rejects.toThrow(
      /external data file "lm.onnx.data" was not given/,
    );
    await expect(
      MambaLM.load({ model: graph, externalData: [{ path: "lm.onnx.data", data: "lm.onnx.data" }] }),
    ).rejects.toThrow(/as bytes, not as a path/);
    const cut = join(dir, "cut");
    await writeLanguageModel(cut, await openCheckpoint(), fixtureConfig());
    await truncate(join(cut, "lm.onnx.data"), 100);
    const refused = MambaLM.load(cut);
    await expect(refused).rejects.toThrow(ModelFormatError);
    await expect(refused).rejects.toThrow(/holds 100 bytes, the embedding ends at \d+/);
  });

  it("MambaLM.load refuses a graph of another format version, or none, with what to do", async () => {
    const old = new GraphBuilder("old");
    old.output(old.op("Identity", [old.input("x", "float32", [1])]), "float32", [1]);
    const metadata = { "cobra.format": "mamba-lm", "cobra.format_version": "1" };
    await expect(MambaLM.load({ model: serializeModel(old, { metadata }) })).rejects.toThrow(
      /format version 1, this cobra-ts reads version 3: convert the model again/,
    );
    await expect(MambaLM.load({ model: serializeModel(old) })).rejects.toThrow(/not a cobra-ts Mamba LM/);
    await expect(MambaLM.load({ model: new Uint8Array([1, 2, 3]) })).rejects.toThrow(ModelFormatError);
  });
});

// Node only: the embedding of a converted folder read row by row from its external data file, so the table
// never has to sit in memory.
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelFormatError, type ModelInspection } from "@cobra-ts/core";
import { EmbeddingTable, embeddingOf, expectLength } from "./embedding-table.js";

/** From the graph file at `graphPath`; external rows are read from their file on demand. */
export async function embeddingFromFile(model: ModelInspection, graphPath: string): Promise<EmbeddingTable> {
  const t = embeddingOf(model, graphPath);
  if (!t.external) return EmbeddingTable.fromBytes(model, undefined, graphPath);
  const dModel = t.dims[1];
  const { location, offset, length } = t.external;
  const path = join(dirname(graphPath), location);
  const handle = await open(path, "r").catch((e) => {
    throw new ModelFormatError(`${path}: cannot open the model's external data (${(e as Error).message})`, {
      cause: e,
    });
  });
  try {
    expectLength(t, length, graphPath);
    const size = (await handle.stat()).size;
    if (offset + length > size)
      throw new ModelFormatError(`${path}: holds ${size} bytes, the embedding ends at ${offset + length}`);
  } catch (e) {
    await handle.close();
    throw e;
  }
  const rowBytes = dModel * 4;
  return new EmbeddingTable(
    t.dims[0],
    dModel,
    async (id, out) => {
      const target = new Uint8Array(out.buffer, out.byteOffset, rowBytes);
      const { bytesRead } = await handle.read(target, 0, rowBytes, offset + id * rowBytes);
      if (bytesRead !== rowBytes) throw new ModelFormatError(`${path}: short read of embedding row ${id}`);
    },
    () => handle.close(),
  );
}

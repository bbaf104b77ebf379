// Node only: the embedding of a converted folder read row by row from its external data files, so the table
// never has to sit in memory.
import { type FileHandle, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type InitializerBytes, ModelFormatError, type ModelInspection } from "@cobra-ts/core";
import { EmbeddingTable, embeddingLayout, expectLength, layoutInitializers } from "./embedding-table.js";

/** From the graph file at `graphPath`; external rows are read from their files on demand. */
export async function embeddingFromFile(model: ModelInspection, graphPath: string): Promise<EmbeddingTable> {
  const layout = embeddingLayout(model, graphPath);
  const initializers = layoutInitializers(layout);
  if (initializers.every((t) => !t.external)) return EmbeddingTable.fromBytes(model, undefined, graphPath);
  const handles = new Map<string, FileHandle>();
  const closeAll = async () => {
    await Promise.all([...handles.values()].map((h) => h.close()));
  };
  try {
    for (const t of initializers) {
      if (!t.external)
        throw new ModelFormatError(`${graphPath}: the embedding is split between the model and its data`);
      const { location, offset, length } = t.external;
      const path = join(dirname(graphPath), location);
      if (!handles.has(location))
        handles.set(
          location,
          await open(path, "r").catch((e) => {
            throw new ModelFormatError(
              `${path}: cannot open the model's external data (${(e as Error).message})`,
              {
                cause: e,
              },
            );
          }),
        );
      expectLength(t, length, graphPath);
      const size = (await handles.get(location)!.stat()).size;
      if (offset + length > size)
        throw new ModelFormatError(`${path}: holds ${size} bytes, the embedding ends at ${offset + length}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const read = async (t: InitializerBytes, offset: number, out: Uint8Array) => {
    const { location, offset: start } = t.external!;
    const { bytesRead } = await handles.get(location)!.read(out, 0, out.byteLength, start + offset);
    if (bytesRead !== out.byteLength)
      throw new ModelFormatError(`${location}: short read of an embedding row`);
  };
  return EmbeddingTable.over(layout, read, closeAll);
}

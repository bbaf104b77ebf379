// Node only: the embedding of a converted folder read row by row from its external data files, so the table
// never has to sit in memory.
import { dirname, join } from "node:path";
import { ModelFormatError, type ModelInspection } from "@cobra-ts/core";
import { initializerFiles } from "@cobra-ts/core/node";
import { EmbeddingTable, embeddingLayout, expectLength, layoutInitializers } from "./embedding-table.js";

/** From the graph file at `graphPath`; external rows are read from their files on demand. */
export async function embeddingFromFile(model: ModelInspection, graphPath: string): Promise<EmbeddingTable> {
  const layout = embeddingLayout(model, graphPath);
  const initializers = layoutInitializers(layout);
  if (initializers.every((t) => !t.external)) return EmbeddingTable.fromBytes(model, undefined, graphPath);
  const files = initializerFiles(graphPath, "an embedding row");
  try {
    for (const t of initializers) {
      if (!t.external)
        throw new ModelFormatError(`${graphPath}: the embedding is split between the model and its data`);
      const { location, offset, length } = t.external;
      expectLength(t, length, graphPath);
      const size = await files.fileSize(location);
      if (offset + length > size)
        throw new ModelFormatError(
          `${join(dirname(graphPath), location)}: holds ${size} bytes, the embedding ends at ${offset + length}`,
        );
    }
  } catch (e) {
    await files.close();
    throw e;
  }
  return EmbeddingTable.over(layout, files.read, files.close);
}

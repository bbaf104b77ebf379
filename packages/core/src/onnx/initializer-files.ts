// Node only: byte ranges of a graph's initializers, from the model's own bytes or straight from its external
// data files (one handle per file, opened on first use), so nothing larger than what is asked for is read.
import { type FileHandle, open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelFormatError } from "../errors.js";
import type { InitializerBytes, InitializerReader } from "./inspect.js";

export interface InitializerFiles {
  read: InitializerReader;
  /** The size of external data file `location` (to check ranges before reading). */
  fileSize(location: string): Promise<number>;
  close(): Promise<void>;
}

/** Over the graph file at `graphPath`; `what` names the data in errors (e.g. "an embedding row"). */
export function initializerFiles(graphPath: string, what: string): InitializerFiles {
  const handles = new Map<string, Promise<FileHandle>>();
  const handle = (location: string) => {
    let h = handles.get(location);
    if (!h) {
      const path = join(dirname(graphPath), location);
      h = open(path, "r").catch((e) => {
        throw new ModelFormatError(
          `${path}: cannot open the model's external data (${(e as Error).message})`,
          {
            cause: e,
          },
        );
      });
      handles.set(location, h);
    }
    return h;
  };
  return {
    async read(t: InitializerBytes, offset: number, out: Uint8Array) {
      if (t.raw) {
        out.set(t.raw.subarray(offset, offset + out.byteLength));
        return;
      }
      if (!t.external) throw new ModelFormatError(`${graphPath}: an initializer without data`);
      const { location, offset: start } = t.external;
      const { bytesRead } = await (await handle(location)).read(out, 0, out.byteLength, start + offset);
      if (bytesRead !== out.byteLength) throw new ModelFormatError(`${location}: short read of ${what}`);
    },
    fileSize: async (location) => (await (await handle(location)).stat()).size,
    async close() {
      const opened = await Promise.allSettled(handles.values());
      handles.clear();
      await Promise.all(opened.map((h) => (h.status === "fulfilled" ? h.value.close() : undefined)));
    },
  };
}

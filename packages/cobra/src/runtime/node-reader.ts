// Node only: a model folder on disk. onnxruntime opens the graphs by path, so weights never pass through
// JavaScript memory; the manifest and tokenizer are read whole.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  FileNotFoundError,
  InvalidArgumentError,
  type ModelFileReader,
  ModelFormatError,
} from "@cobra-ts/core";
import { sha256File } from "../convert/hash.js";
import { MANIFEST_FILE } from "../manifest.js";

export function nodeReader(dir: string): ModelFileReader {
  return {
    where: dir,
    async size(path) {
      const info = await stat(join(dir, path)).catch(() => null);
      return info?.isFile() ? info.size : null;
    },
    async bytes(path) {
      const full = join(dir, path);
      try {
        return await readFile(full);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT")
          throw new FileNotFoundError(
            full,
            path === MANIFEST_FILE
              ? "model manifest (is this a folder written by `cobra convert`?)"
              : "model file",
          );
        if (code === "ENOTDIR")
          throw new InvalidArgumentError(`${dir} is a file; give the folder written by \`cobra convert\``);
        throw new ModelFormatError(`${full}: cannot read it (${code ?? (e as Error).message})`, { cause: e });
      }
    },
    sha256: (path, onBytes) => sha256File(join(dir, path), onBytes),
    localPath: (path) => join(dir, path),
  };
}

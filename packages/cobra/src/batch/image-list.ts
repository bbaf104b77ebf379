import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { FileNotFoundError, FileSystemError, InvalidArgumentError } from "@cobra-ts/core";
import type { ImageFormat } from "@cobra-ts/vision-encoder";

/** One image of a batch: `image` names it in the output (as the user gave it), `path` is what is read (absolute). */
export interface BatchImage {
  image: string;
  path: string;
}

/** The file extensions of each format the decoder reads (typed by format: a new format must be given its own). */
const EXTENSIONS: Record<ImageFormat, readonly string[]> = {
  jpeg: [".jpg", ".jpeg", ".jpe", ".jfif"],
  png: [".png"],
  webp: [".webp"],
  gif: [".gif"],
  tiff: [".tif", ".tiff"],
  avif: [".avif"],
};
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(Object.values(EXTENSIONS).flat());

/** Code-point order, the same on every machine and locale (localeCompare is neither). */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The images to ask about: every image file under a folder (sub-folders too, hidden ones skipped), named by
 * its path relative to the folder with "/" separators and in code-point order of that name; or the lines of a
 * list file (one path a line, relative to the list file's folder unless absolute; blank lines and lines
 * starting with "#" skipped), named as written and in the file's order. A path listed twice is refused.
 */
export async function listImages(source: string): Promise<BatchImage[]> {
  const info = await stat(source).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") throw new FileNotFoundError(source, "--images folder or list file");
    throw new FileSystemError(`--images ${source}: cannot read it (${e.code ?? e.message})`, { cause: e });
  });
  const images = await (info.isDirectory() ? walkFolder(source) : readListFile(source));
  // absolute: the same path in an error line whether this process or a queue's worker (another folder) reads it
  return images.map(({ image, path }) => ({ image, path: resolve(path) }));
}

async function walkFolder(dir: string): Promise<BatchImage[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileSystemError(`--images ${dir}: cannot list it (${code ?? (e as Error).message})`, {
      cause: e,
    });
  }
  const names = entries
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && IMAGE_EXTENSIONS.has(extname(d.name).toLowerCase()))
    .map((d) => relative(dir, join(d.parentPath, d.name)).split(sep).join("/"))
    .filter((name) => !name.split("/").some((part) => part.startsWith(".")))
    .sort(byCodePoint);
  return names.map((image) => ({ image, path: join(dir, image) }));
}

async function readListFile(file: string): Promise<BatchImage[]> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      `--images ${file}: ${code ? `cannot read it (${code})` : "a list file must be UTF-8 text, one image path a line"}`,
      { cause: e },
    );
  }
  const base = dirname(file);
  const lineOf = new Map<string, number>();
  const images: BatchImage[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const image = raw.replace(/\r$/, "").trim();
    if (image === "" || image.startsWith("#")) continue;
    const first = lineOf.get(image);
    if (first !== undefined)
      throw new InvalidArgumentError(
        `--images ${file}: line ${i + 1} lists ${JSON.stringify(image)} again (first on line ${first}); list each image once`,
      );
    lineOf.set(image, i + 1);
    images.push({ image, path: isAbsolute(image) ? image : join(base, image) });
  }
  return images;
}

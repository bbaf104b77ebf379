import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listImages } from "./image-list.js";

let work = "";
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-image-list-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const touch = async (path: string) => {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, "");
};

describe("listImages", () => {
  it("walks a folder and its sub-folders in code-point order, image extensions only, hidden entries skipped", async () => {
    const dir = join(work, "walk");
    for (const f of ["b.png", "B.JPG", "a/z.webp", "a/y.tiff", "c.avif", "d.gif", "e.jpeg", "f.tif"])
      await touch(join(dir, f));
    for (const f of ["notes.txt", "model.onnx", ".hidden.png", ".cache/x.png", "noext"])
      await touch(join(dir, f));
    const images = await listImages(dir);
    expect(images.map((i) => i.image)).toEqual([
      "B.JPG",
      "a/y.tiff",
      "a/z.webp",
      "b.png",
      "c.avif",
      "d.gif",
      "e.jpeg",
      "f.tif",
    ]);
    expect(images[1].path).toBe(join(dir, "a", "y.tiff"));
  });

  it("reads a list file: order kept, paths relative to its folder, comments and blank lines skipped", async () => {
    const list = join(work, "lists", "l.txt");
    await touch(list);
    await writeFile(list, "# header\nz.png\r\n\n  ../x/a.png  \n/abs/b.jpg\n");
    expect(await listImages(list)).toEqual([
      { image: "z.png", path: join(work, "lists", "z.png") },
      { image: "../x/a.png", path: join(work, "x", "a.png") },
      { image: "/abs/b.jpg", path: "/abs/b.jpg" },
    ]);
  });

  it("refuses a list file naming an image twice, naming both lines", async () => {
    const list = join(work, "twice.txt");
    await writeFile(list, "a.png\nb.png\na.png\n");
    await expect(listImages(list)).rejects.toThrow(/line 3 lists "a.png" again \(first on line 1\)/);
  });

  it("a missing --images is a FileNotFoundError", async () => {
    await expect(listImages(join(work, "nope"))).rejects.toThrow(/--images folder or list file not found/);
  });
});

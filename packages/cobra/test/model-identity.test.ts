// One model identity for `cobra batch` lines and queued runs: cobra.json less its `source` section. A folder
// copied elsewhere, or converted again from the same weights at another time, is the same model; another dtype, a
// changed config or file is another.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import type { CobraManifest } from "../src/manifest.js";
import { modelIdentity } from "../src/model-identity.js";
import { RELEASE_SOURCES } from "./fixture.js";

let work = "";
let model = "";
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-model-identity-"));
  model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
});
afterAll(() => rm(work, { recursive: true, force: true }));

const manifestOf = async (dir: string): Promise<CobraManifest> =>
  JSON.parse(await readFile(join(dir, "cobra.json"), "utf8"));
/** A copy of the converted folder with its cobra.json edited by `edit`. */
async function copyWith(name: string, edit: (m: CobraManifest) => void): Promise<string> {
  const dir = join(work, name);
  await cp(model, dir, { recursive: true });
  const m = await manifestOf(dir);
  edit(m);
  await writeFile(join(dir, "cobra.json"), JSON.stringify(m, null, 2));
  return dir;
}

describe("modelIdentity", () => {
  it("is the same for a copy elsewhere, another source fingerprint and another layout of cobra.json", async () => {
    const original = await modelIdentity(model);
    expect(original.modelId).toBe("cobra+3b");
    expect(original.digest).toMatch(/^[0-9a-f]{64}$/);
    const copied = await copyWith("copied", () => {});
    const refingered = await copyWith("refingered", (m) => {
      expect(Object.keys(m.source).length).toBeGreaterThan(0); // the section left out is really there
      m.source = { checkpoint: "/elsewhere/run", mtime: "2030-01-01T00:00:00Z" };
    });
    // keys written in another order, no spacing
    const reordered = join(work, "reordered");
    await cp(model, reordered, { recursive: true });
    const m = await manifestOf(model);
    const reversed = Object.fromEntries(Object.entries(m).reverse());
    await writeFile(join(reordered, "cobra.json"), JSON.stringify(reversed));
    for (const dir of [copied, refingered, reordered]) expect(await modelIdentity(dir)).toEqual(original);
  });

  it("differs for another dtype, another config value, another file or another model id", async () => {
    const original = await modelIdentity(model);
    const q8 = join(work, "q8");
    await convertRelease(RELEASE_SOURCES, {
      out: q8,
      dtypes: { vision: "fp32", projector: "fp32", lm: "q8" },
    });
    const others = [
      q8,
      await copyWith("config", (m) => {
        m.settings!.maxPromptLength += 1;
      }),
      await copyWith("file", (m) => {
        const f = m.parts.projector!.files[0];
        f.sha256 = f.sha256.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
      }),
      await copyWith("renamed", (m) => {
        m.modelId = "another";
      }),
    ];
    const digests = new Set([original.digest]);
    for (const dir of others) digests.add((await modelIdentity(dir)).digest);
    expect(digests.size).toBe(others.length + 1);
  });

  it("a folder without cobra.json is refused with the loader's message", async () => {
    await expect(modelIdentity(join(work, "nope"))).rejects.toThrow(/cobra\.json/);
  });
});

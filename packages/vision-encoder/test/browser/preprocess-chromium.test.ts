/**
 * Runs decode-browser + preprocessing in a real Chromium page (bundled with esbuild, served from 127.0.0.1) and
 * checks the bytes against the Node path: the fixture set's images and one generated file of every image class
 * (test/image-classes.ts, CMYK and YCCK JPEGs included), all byte-identical. Runs in the normal `vitest run`; skipped only when /usr/bin/chromium is
 * missing (Debian: `apt-get install -y chromium`).
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { isBuiltin } from "node:module";
import type { AddressInfo } from "node:net";
import { basename, join } from "node:path";
import { build, type Plugin, type StdinOptions } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImageBytes } from "../../src/decode-node.js";
import type { RgbImage } from "../../src/image.js";
import { preprocessDinoSiglip, type ResizeStrategy } from "../../src/preprocess/strategies.js";
import {
  expectedPixels,
  type FixtureImage,
  fixtureImages,
  haveFixtures,
  imagePath,
  imageSize,
  pixelImages,
  resizeStrategy,
} from "../fixtures.js";
import { imageClasses } from "../image-classes.js";
import { writeGif, writePng } from "../image-writers.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`SKIPPED browser preprocessing test: ${CHROMIUM} not found (apt-get install -y chromium)`);

/** Only workspace sources are bundled; any other bare import is left external, and the test fails if one survives. */
const externalizeDependencies: Plugin = {
  name: "externalize-dependencies",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@cobra-ts/") ? undefined : { path: args.path, external: true },
    );
  },
};

const PACKAGE = join(import.meta.dirname, "../..");
const NODE_ONLY = ["sharp", "onnxruntime-node", "yauzl"];

/**
 * An ESM bundle for browsers of `stdin` or `entry`, workspace packages resolved to their sources; with
 * `splitting`, dynamic imports become chunks as an application's bundler would make them (never written out).
 */
function bundleForBrowser(stdin: StdinOptions | undefined, entry?: string, splitting = false) {
  return build({
    ...(stdin ? { stdin } : { entryPoints: [entry!] }),
    bundle: true,
    splitting,
    outdir: join(PACKAGE, "not-written"),
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["source"],
    write: false,
    metafile: true,
    plugins: [externalizeDependencies],
    logLevel: "silent",
  });
}

interface PageResult {
  width: number;
  height: number;
  rgb: string;
  dino: string;
  siglip: string;
  dinoNormalized: string;
}

const b64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");

/** The set's resize strategy and image size (the oracle's pixels were made with them). */
const STRATEGY: ResizeStrategy = haveFixtures ? resizeStrategy() : "resize-naive";
const SIZE = haveFixtures ? imageSize() : 384;
/** The set's images: every one is decoded and preprocessed in the page and compared with Node and the oracle. */
const IMAGES = fixtureImages();
const WITH_PIXELS = new Set(pixelImages());
/** The first JPEG of the set (its header feeds the pixel-limit error check); one is made if the set has none. */
const JPEG: FixtureImage | undefined = IMAGES.find((i) => i.format === "JPEG");
/** Every image class the decoders treat differently, CMYK and YCCK JPEGs included, as small generated files. */
const CLASSES = await imageClasses();
const CMYK_DECODER = "src/codecs/jpeg-cmyk.ts";
/** A PNG of the set, for the <img> source check. */
const PNG: FixtureImage | undefined = IMAGES.find((i) => i.format === "PNG");

/** The same computation on the Node side, encoded like the page's answer. */
async function nodeResult(bytes: Uint8Array): Promise<PageResult> {
  const image = await decodeImageBytes(bytes);
  const { dino, siglip } = preprocessDinoSiglip(image, { strategy: STRATEGY, size: SIZE });
  const n = dino.normalized.data;
  return {
    width: image.width,
    height: image.height,
    rgb: b64(image.data),
    dino: b64(dino.pixels.data),
    siglip: b64(siglip.pixels.data),
    dinoNormalized: b64(new Uint8Array(n.buffer, n.byteOffset, n.byteLength)),
  };
}

/** Number of differing bytes and the largest difference between two base64 byte strings. */
function diff(a: string, b: string): { count: number; max: number } {
  const x = Buffer.from(a, "base64");
  const y = Buffer.from(b, "base64");
  let count = Math.abs(x.length - y.length);
  let max = 0;
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Math.abs(x[i] - y[i]);
    if (d) count++;
    max = Math.max(max, d);
  }
  return { count, max };
}

describe.skipIf(!haveChromium || !haveFixtures)("browser (Chromium) decoding + preprocessing == Node", () => {
  const files = new Map<string, Uint8Array>();
  /** Every URL the pages asked for, in order. */
  const requested: string[] = [];
  /** The URL of the chunk that holds the CMYK decoder (undefined if it was bundled into the entry). */
  let cmykChunk: string | undefined;
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // The page gets exactly what this test exercises; the whole browser entry is checked separately below.
    // Split into chunks, so that the page loads the CMYK decoder the way an application's bundle would.
    const bundle = await bundleForBrowser(
      {
        contents: [
          'export { decodeImageBrowser } from "./src/decode-browser.ts";',
          'export { preprocessDinoSiglip } from "./src/preprocess/strategies.ts";',
        ].join("\n"),
        resolveDir: PACKAGE,
        loader: "ts",
      },
      undefined,
      true,
    );
    const chunks = bundle.outputFiles.map((f) => `/${basename(f.path)}`);
    const imports = Object.values(bundle.metafile.outputs).flatMap((o) =>
      o.imports.map((i) => `/${basename(i.path)}`),
    );
    expect(
      imports.filter((path) => !chunks.includes(path)),
      "decoding + preprocessing must bundle without any import but its own chunks",
    ).toEqual([]);
    for (const f of bundle.outputFiles) files.set(`/${basename(f.path)}`, f.contents);
    const outputs = Object.entries(bundle.metafile.outputs);
    const entry = outputs.find(([, o]) => o.entryPoint)![0];
    files.set("/bundle.js", files.get(`/${basename(entry)}`)!);
    const decoder = outputs.find(([, o]) => Object.keys(o.inputs).some((i) => i.endsWith(CMYK_DECODER)));
    cmykChunk = decoder && decoder[0] !== entry ? `/${basename(decoder[0])}` : undefined;
    files.set(
      "/",
      new TextEncoder().encode(
        '<!doctype html><script type="module">import * as v from "/bundle.js"; window.cobraVision = v; window.ready = true;</script>',
      ),
    );
    for (const { name, file } of IMAGES) files.set(`/img/${file}`, readFileSync(imagePath(name)));
    if (!JPEG)
      files.set(
        "/img/made.jpg",
        await sharp({ create: { width: 64, height: 48, channels: 3, background: "#8040c0" } })
          .jpeg()
          .toBuffer(),
      );
    for (const { name, bytes } of CLASSES) files.set(`/img/${name}`, bytes);
    files.set(
      "/img/made-grey16.png",
      writePng({
        width: 3,
        height: 2,
        bitDepth: 16,
        colourType: 0,
        samples: [0, 100, 255, 256, 1000, 65535],
      }),
    );
    files.set(
      "/img/made-transparent.gif",
      writeGif({
        width: 2,
        height: 2,
        globalPalette: [10, 20, 30, 40, 50, 60, 70, 80, 90],
        transparency: 1,
        indices: [0, 1, 2, 1],
      }),
    );

    server = createServer((req, res) => {
      requested.push(req.url ?? "");
      const body = files.get(req.url ?? "");
      if (!body) return void res.writeHead(404).end();
      const type =
        req.url === "/"
          ? "text/html"
          : req.url?.endsWith(".js")
            ? "text/javascript"
            : "application/octet-stream";
      res.writeHead(200, { "content-type": type }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it("the browser entry (src/browser.ts) imports no Node built-in and no Node-only package", async () => {
    const bundle = await bundleForBrowser(undefined, join(PACKAGE, "src/browser.ts"));
    const imports = Object.values(bundle.metafile.outputs)[0].imports.map((i) => i.path);
    expect(imports.filter((path) => isBuiltin(path) || NODE_ONLY.includes(path))).toEqual([]);
  });

  /** Fetches /img/<name> in the page, decodes it from a Blob and preprocesses it for both encoders. */
  function inPage(name: string): Promise<PageResult> {
    return page.evaluate(
      async ([file, strategy, size]) => {
        const v = (window as unknown as { cobraVision: typeof import("../../src/browser.js") }).cobraVision;
        const blob = await (await fetch(`/img/${file}`)).blob();
        const image: RgbImage = await v.decodeImageBrowser(blob, { name: file });
        const { dino, siglip } = v.preprocessDinoSiglip(image, { strategy, size });
        const toB64 = (bytes: Uint8Array) => {
          let s = "";
          for (let i = 0; i < bytes.length; i += 0x8000)
            s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
          return btoa(s);
        };
        const n = dino.normalized.data;
        return {
          width: image.width,
          height: image.height,
          rgb: toB64(image.data),
          dino: toB64(dino.pixels.data),
          siglip: toB64(siglip.pixels.data),
          dinoNormalized: toB64(new Uint8Array(n.buffer, n.byteOffset, n.byteLength)),
        };
      },
      [name, STRATEGY, SIZE] as const,
    );
  }

  it("the CMYK decoder is a chunk of its own, fetched only once a CMYK JPEG is decoded", async () => {
    expect(cmykChunk, `${CMYK_DECODER} must not be bundled into the entry`).toBeDefined();
    const fresh = await browser.newPage();
    try {
      await fresh.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await fresh.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const decode = (file: string) =>
        fresh.evaluate(async (f) => {
          const v = (window as unknown as { cobraVision: typeof import("../../src/browser.js") }).cobraVision;
          return (await v.decodeImageBrowser(await (await fetch(f)).blob())).width;
        }, file);
      const from = requested.length;
      await decode("/img/jpeg-420-33x17.jpg");
      await decode("/img/palette-4bit-trns-7x5.png");
      expect(requested.slice(from)).not.toContain(cmykChunk);
      await decode("/img/cmyk-sharp-odd-33x17.jpg");
      expect(requested.slice(from)).toContain(cmykChunk);
    } finally {
      await fresh.close();
    }
  });

  for (const name of [
    ...IMAGES.map((i) => i.file),
    "made-grey16.png",
    "made-transparent.gif",
    ...CLASSES.map((c) => c.name),
  ]) {
    it(`${name}: identical RGB, uint8 pixels and float32 input`, async () => {
      const bytes = files.get(`/img/${name}`)!;
      const [browserSide, nodeSide] = await Promise.all([inPage(name), nodeResult(bytes)]);
      // Differences counted per output, so that a failure says how much differs without dumping the bytes.
      const same = { count: 0, max: 0 };
      const outputs = ["rgb", "dino", "siglip", "dinoNormalized"] as const;
      const figures = Object.fromEntries(outputs.map((k) => [k, diff(browserSide[k], nodeSide[k])]));
      expect({ width: browserSide.width, height: browserSide.height, ...figures }).toEqual({
        width: nodeSide.width,
        height: nodeSide.height,
        ...Object.fromEntries(outputs.map((k) => [k, same])),
      });
    });
  }

  it("images with pixels/* in the set: the browser's pixels equal the oracle's (JPEGs through Chromium's decoder)", async () => {
    let compared = 0;
    for (const { name, file } of IMAGES) {
      if (!WITH_PIXELS.has(name)) continue;
      const r = await inPage(file);
      const figures = {
        dino: diff(r.dino, b64(await expectedPixels(name, "dino"))),
        siglip: diff(r.siglip, b64(await expectedPixels(name, "siglip"))),
      };
      console.log(`${file} in Chromium vs oracle pixels:`, JSON.stringify(figures));
      expect(figures, file).toEqual({ dino: { count: 0, max: 0 }, siglip: { count: 0, max: 0 } });
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });

  it("<img>, ImageData and <canvas> sources", async () => {
    const png = PNG ? `/img/${PNG.file}` : "/img/made-grey16.png";
    const result = await page.evaluate(async (src) => {
      const v = (window as unknown as { cobraVision: typeof import("../../src/browser.js") }).cobraVision;
      const fromBlob = await v.decodeImageBrowser(await (await fetch(src)).blob());
      const img = new Image();
      img.src = src;
      await img.decode();
      const fromImg = await v.decodeImageBrowser(img);
      const rgba = new Uint8ClampedArray([10, 20, 30, 0, 40, 50, 60, 255]);
      const fromImageData = await v.decodeImageBrowser(new ImageData(rgba, 2, 1));
      const canvas = document.createElement("canvas");
      canvas.width = 2;
      canvas.height = 1;
      canvas
        .getContext("2d")!
        .putImageData(new ImageData(new Uint8ClampedArray([1, 2, 3, 255, 250, 251, 252, 255]), 2, 1), 0, 0);
      const fromCanvas = await v.decodeImageBrowser(canvas);
      return {
        imgEqualsBlob:
          fromImg.width === fromBlob.width && fromImg.data.every((x, i) => x === fromBlob.data[i]),
        imageData: Array.from(fromImageData.data),
        canvas: Array.from(fromCanvas.data),
      };
    }, png);
    expect(result).toEqual({
      imgEqualsBlob: true,
      imageData: [10, 20, 30, 40, 50, 60],
      canvas: [1, 2, 3, 250, 251, 252],
    });
  });

  it("errors in the browser: empty, unsupported, over the pixel limit (JPEG header), undecodable", async () => {
    const jpegFile = JPEG ? `/img/${JPEG.file}` : "/img/made.jpg";
    const { width, height } = await sharp(files.get(jpegFile)!).metadata();
    const errors = await page.evaluate(
      async ([file, pixels]) => {
        const v = (window as unknown as { cobraVision: typeof import("../../src/browser.js") }).cobraVision;
        const jpeg = await (await fetch(file)).blob();
        const attempts: [Blob, number?][] = [
          [new Blob([])],
          [new Blob(["%PDF-1.4 not an image"])],
          [jpeg, pixels - 1],
          [new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xd9])])],
        ];
        const out: string[] = [];
        for (const [blob, maxPixels] of attempts) {
          try {
            await v.decodeImageBrowser(blob, { name: "in.bin", maxPixels });
            out.push("no error");
          } catch (e) {
            out.push(`${(e as Error).name}: ${(e as Error).message}`);
          }
        }
        return out;
      },
      [jpegFile, width! * height!] as const,
    );
    expect(errors[0]).toBe("ImageDecodeError: in.bin: empty file (0 bytes), not an image");
    expect(errors[1]).toMatch(/^ImageDecodeError: in\.bin: unsupported image format \(a PDF document\)/);
    expect(errors[2]).toBe(
      `ImageDecodeError: in.bin: image size ${width}x${height} (${width! * height!} pixels) exceeds the limit of ${width! * height! - 1} pixels (a decompression-bomb guard): if the image is trusted, raise the limit with --max-pixels (cobra CLI) or the maxPixels option (decode functions, Cobra.load)`,
    );
    expect(errors[3]).toMatch(/^ImageDecodeError: in\.bin: the browser cannot decode this jpeg image/);
  });
});

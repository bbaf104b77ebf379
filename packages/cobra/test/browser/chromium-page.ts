/**
 * A real Chromium page with `@cobra-ts/cobra/browser` (and `decodeImageBrowser`, `ortFor`) on `window.cobra`: the browser entry bundled from the
 * workspace sources with esbuild, onnxruntime-web's own files served under /ort/ (through an import map, as
 * an application's bundler would serve them), and any other files the test serves. Headless, software WebGPU
 * (SwiftShader) where asked. Needs Debian's `chromium` (/usr/bin/chromium).
 */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve, sep } from "node:path";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

// An exported file of the package, to find its dist folder.
const ORT_DIST = dirname(
  createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.mjs"),
);
const ENTRY = join(import.meta.dirname, "../../src/browser.ts");

export interface ChromiumPage {
  page: Page;
  browser: Browser;
  /** The page's origin, e.g. http://127.0.0.1:1234 (localhost: a secure context, so the Cache API exists). */
  origin: string;
  /** Every path the page asked the server for, in order. */
  requested: string[];
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
  close(): Promise<void>;
}

/** Bundles the browser entry (only onnxruntime-web left external) for a page. */
async function bundleBrowserEntry(): Promise<Uint8Array> {
  const out = await build({
    stdin: {
      // The entry, the image decoder that tests feed parts with directly, and the onnxruntime module of a backend.
      contents: `export * from ${JSON.stringify(ENTRY)};\nexport { decodeImageBrowser } from "@cobra-ts/vision-encoder/browser";\nexport { ortFor } from "@cobra-ts/core";`,
      resolveDir: import.meta.dirname,
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["source"],
    external: ["onnxruntime-web", "onnxruntime-web/webgpu"],
    logLevel: "silent",
  });
  return out.outputFiles[0].contents;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>cobra</title>
<script type="importmap">{"imports":{"onnxruntime-web":"/ort/ort.min.mjs","onnxruntime-web/webgpu":"/ort/ort.webgpu.min.mjs"}}</script>
<script type="module">import * as cobra from "/cobra.js"; window.cobra = cobra; window.ready = true;</script>`;

export interface ChromiumPageOptions {
  /** Starts Chromium with (software) WebGPU enabled. */
  webgpu?: boolean;
  /**
   * Sends COOP same-origin + COEP require-corp with every response: a crossOriginIsolated page, where
   * onnxruntime-web gets SharedArrayBuffer and runs WASM threads.
   */
  isolated?: boolean;
  /** URL prefix (e.g. "/model") -> folder on disk, streamed per request (for files too big to hold in memory). */
  folders?: Readonly<Record<string, string>>;
  /** Script the page runs before any of its own (e.g. hooks around WebAssembly that a measurement needs). */
  initScript?: string;
}

/** The file of `folders` that `path` names, or undefined (nothing outside a folder is served). */
function folderFile(folders: Readonly<Record<string, string>>, path: string): string | undefined {
  for (const [prefix, dir] of Object.entries(folders)) {
    if (!path.startsWith(`${prefix}/`)) continue;
    const file = resolve(dir, decodeURIComponent(path.slice(prefix.length + 1)));
    if (file.startsWith(resolve(dir) + sep) && existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** Opens the page. `files` maps a request path (e.g. "/model/cobra.json") to its bytes. */
export async function openChromiumPage(
  files: ReadonlyMap<string, Uint8Array>,
  options: ChromiumPageOptions = {},
): Promise<ChromiumPage> {
  const bundle = await bundleBrowserEntry();
  const requested: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requested.push(path);
    if (options.isolated) {
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
    }
    const onDisk = options.folders && folderFile(options.folders, path);
    if (onDisk) {
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": statSync(onDisk).size,
      });
      return void createReadStream(onDisk).pipe(res);
    }
    let body: Uint8Array | undefined;
    let type = "application/octet-stream";
    if (path === "/favicon.ico") return void res.writeHead(204).end();
    if (path === "/") [body, type] = [new TextEncoder().encode(PAGE), "text/html"];
    else if (path === "/cobra.js") [body, type] = [bundle, "text/javascript"];
    else if (path.startsWith("/ort/") && !path.includes("..")) {
      const file = join(ORT_DIST, path.slice("/ort/".length));
      if (existsSync(file)) body = readFileSync(file);
      if (path.endsWith(".mjs")) type = "text/javascript";
      if (path.endsWith(".wasm")) type = "application/wasm";
    } else {
      body = files.get(path);
    }
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": type, "content-length": body.byteLength }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--headless=new",
        ...(options.webgpu
          ? [
              "--enable-unsafe-webgpu",
              "--enable-unsafe-swiftshader",
              "--use-angle=swiftshader",
              "--enable-features=Vulkan",
            ]
          : ["--disable-gpu"]),
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    const page = await browser.newPage();
    if (options.initScript) await page.addInitScript(options.initScript);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const opened = browser;
    return {
      page,
      browser: opened,
      origin,
      requested,
      errors,
      close: async () => {
        await opened.close();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    throw e;
  }
}

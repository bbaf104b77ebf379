// Runs bench/webgpu-page.ts in headless Chromium (same flags as the WebGPU test) and returns its rows.
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { bundle } from "../scripts/bundle.mjs";
import type { Row } from "./ops.js";

const ARGS = [
  "--no-sandbox",
  "--headless=new",
  "--enable-unsafe-webgpu",
  "--enable-unsafe-swiftshader",
  "--use-angle=swiftshader",
  "--enable-features=Vulkan",
];

export async function runWebGpuBench(
  executablePath: string,
  quick: boolean,
): Promise<{ adapter: string; rows: Row[] }> {
  // The bench runs as a bundle in .cache/: find the package from the bundle's location.
  const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
  const script = await bundle({
    entry: join(pkg, "bench/webgpu-page.ts"),
    outfile: join(pkg, ".cache/webgpu-bench-page.js"),
    platform: "browser",
  });
  const { readFileSync } = await import("node:fs");
  const js = readFileSync(script);
  const server = createServer((req, res) => {
    res.setHeader("Content-Type", req.url === "/page.js" ? "text/javascript" : "text/html");
    res.end(req.url === "/page.js" ? js : '<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const browser = await chromium.launch({ executablePath, args: ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    await page.waitForFunction(() => "runBench" in globalThis);
    return await page.evaluate(
      (q) =>
        (
          globalThis as unknown as { runBench: (q: boolean) => Promise<{ adapter: string; rows: Row[] }> }
        ).runBench(q),
      quick,
    );
  } finally {
    await browser.close();
    server.close();
  }
}

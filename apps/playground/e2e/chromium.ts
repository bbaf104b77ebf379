/**
 * Launches Debian's Chromium (never a downloaded browser) through playwright-core. WebGPU runs on SwiftShader,
 * Chromium's CPU Vulkan implementation; --enable-unsafe-webgpu plus --enable-unsafe-swiftshader are what give
 * headless Chromium 156 a WebGPU adapter (checked: without them requestAdapter() returns null; adding
 * --use-angle=swiftshader or --enable-features=Vulkan changes nothing).
 */
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = [
  "--no-sandbox",
  "--headless=new",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
export const WEBGPU_ARGS = ["--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"];

export function launchChromium(options: { webgpu: boolean }): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    ignoreDefaultArgs: ["--headless"], // ours says which headless mode
    args: [...ARGS, ...(options.webgpu ? WEBGPU_ARGS : [])],
  });
}

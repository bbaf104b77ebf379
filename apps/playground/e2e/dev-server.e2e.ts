/**
 * The playground as `npm run dev` serves it: Vite's dev server hands the worker the packages' browser entries
 * module by module, unbundled, so a Node built-in anywhere on that path kills the worker ("Module "fs/promises"
 * has been externalized for browser compatibility") where the preview build happens to tree-shake it away.
 * Loads the tiny model on WASM and expects the oracle's greedy answer to the first fixture question.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./chromium";
import {
  askFixtureQuestion,
  fixture,
  installAnswerState,
  loadModel,
  manifest,
  screenshot,
} from "./page-actions";
import { ARTIFACTS_DIR } from "./paths";

const devUrl = inject("devUrl");

describe("playground on the Vite dev server", () => {
  let browser: Browser;
  let page: Page;
  const consoleLog: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: false });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on("console", (message) => consoleLog.push(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => consoleLog.push(`[pageerror] ${error.message}`));
    await installAnswerState(page);
  });

  afterAll(async () => {
    writeFileSync(resolve(ARTIFACTS_DIR, "dev-console.log"), `${consoleLog.join("\n")}\n`);
    await browser?.close();
  });

  it("loads the tiny model from /models/cobra-tiny/ and streams the oracle's greedy answer", async () => {
    await page.goto(devUrl);
    await page.waitForSelector("[data-testid=model-url]");
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await loadModel(page, "wasm");
    const done = await page.$$eval("[data-testid=file-progress][data-done=true]", (items) =>
      items.map((item) => item.getAttribute("data-file")),
    );
    expect(done.sort()).toEqual(manifest.files.map((f) => f.path).sort());
    await askFixtureQuestion(page);
    await screenshot(page, "dev-1-answer");
    expect(await page.locator("[data-testid=answer-text]").last().textContent()).toBe(fixture.greedy_text);
    // Nothing on the way failed quietly (a worker that died would have stopped the load above).
    expect(consoleLog.filter((line) => line.startsWith("[pageerror]"))).toEqual([]);
  });
});

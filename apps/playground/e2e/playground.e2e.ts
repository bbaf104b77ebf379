/**
 * The playground in headless Chromium, once on WASM and once on WebGPU (SwiftShader): load the tiny model from
 * /models/cobra-tiny/, drop the first fixture case's image, ask its question, and expect the streamed answer to
 * be the oracle's greedy text; on WASM also load the `--dtype lm=q4,vision=q8` conversion, check the dtypes the
 * status line shows, and expect a streamed answer. Screenshots and the browser console go to test-artifacts/.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./chromium";
import {
  ANSWER_TIMEOUT_MS,
  askFixtureQuestion,
  fixture,
  installAnswerState,
  loadModel,
  manifest,
  screenshot,
  shownDtypes,
  waitForModel,
} from "./page-actions";
import { ARTIFACTS_DIR, MODEL_PATH, MODELS_DIR, QUANTIZED_MODEL_PATH } from "./paths";

const baseUrl = inject("baseUrl");

for (const backend of ["wasm", "webgpu"] as const) {
  describe(`playground on ${backend}`, () => {
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    const consoleLog: string[] = [];
    /** Model file URLs the browser requested (page and worker). */
    const modelRequests: string[] = [];
    let modelLoaded = false;
    /** Later steps need the model; without it they fail at once instead of waiting for timeouts. */
    const needModel = () => {
      if (!modelLoaded) throw new Error(`the model did not load on ${backend} (see the failure above)`);
    };

    beforeAll(async () => {
      browser = await launchChromium({ webgpu: backend === "webgpu" });
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      context.on("request", (request) => {
        if (new URL(request.url()).pathname.startsWith(MODEL_PATH)) modelRequests.push(request.url());
      });
      page = await context.newPage();
      page.on("console", (message) => consoleLog.push(`[${message.type()}] ${message.text()}`));
      page.on("pageerror", (error) => consoleLog.push(`[pageerror] ${error.message}`));
    });

    afterAll(async () => {
      writeFileSync(resolve(ARTIFACTS_DIR, `${backend}-console.log`), `${consoleLog.join("\n")}\n`);
      await browser?.close();
    });

    it("serves a cross-origin isolated page", async () => {
      await installAnswerState(page);
      await page.goto(baseUrl);
      await page.waitForSelector("[data-testid=model-url]");
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      if (backend === "webgpu")
        await page.waitForSelector("[data-testid=webgpu-adapter]", { timeout: 30_000 });
      await screenshot(page, `${backend}-1-page`);
    });

    it("loads the tiny model with a progress bar per file", async () => {
      await loadModel(page, backend);
      modelLoaded = true;
      expect(await page.getAttribute("[data-testid=active-backend]", "data-backend")).toBe(backend);
      // dev:model converts this one without --dtype: every part at full precision.
      expect(await shownDtypes(page)).toEqual({
        text: "fp32 weights",
        lm: "fp32",
        vision: "fp32",
        projector: "fp32",
      });
      const files = await page.$$eval("[data-testid=file-progress]", (items) =>
        items.map((item) => ({ file: item.getAttribute("data-file"), done: item.getAttribute("data-done") })),
      );
      expect(files.map((f) => f.file).sort()).toEqual(manifest.files.map((f) => f.path).sort());
      expect(files.every((f) => f.done === "true")).toBe(true);
      // A fresh browser profile: every file came over the network (and proves requests are observed).
      expect(modelRequests.filter((url) => !url.endsWith("/cobra.json")).length).toBe(manifest.files.length);
      await screenshot(page, `${backend}-2-loaded`);
    });

    it("streams the oracle's greedy answer to the first fixture question", async () => {
      needModel();
      await askFixtureQuestion(page);
      await screenshot(page, `${backend}-3-answer`);
      const answer = page.locator("[data-testid=answer]").last();
      expect(await answer.locator("[data-testid=answer-text]").textContent()).toBe(fixture.greedy_text);
      // Streamed: the text grew over several renders rather than arriving at once.
      const snapshots = await page.evaluate(() => (window as unknown as { __answers: string[] }).__answers);
      expect(new Set(snapshots).size).toBeGreaterThan(2);
      expect(await page.textContent("[data-testid=answer-stats]")).toMatch(
        /time to first token \d.* · \d+ tokens · [\d.]+ tokens\/s/,
      );
      expect(await page.getAttribute("[data-testid=image-status]", "data-phase")).toBe("ready");
    });

    if (backend === "wasm")
      it("asks a follow-up about the same image and stops it mid-stream", async () => {
        needModel();
        await page.fill("[data-testid=max-new-tokens]", "2000");
        await page.fill("[data-testid=question]", fixture.user_message);
        await page.click("[data-testid=ask]");
        await page.waitForFunction(() => lastAnswerState() !== "waiting", undefined, {
          timeout: ANSWER_TIMEOUT_MS,
        });
        // Click in the page itself, so that "still streaming" and the click are one step.
        const outcome = await page.evaluate(() => {
          if (lastAnswerState() !== "streaming") return lastAnswerState();
          document.querySelector<HTMLButtonElement>("[data-testid=stop]")?.click();
          return "clicked";
        });
        expect(outcome).toBe("clicked");
        await page.waitForFunction(() => lastAnswerState() !== "streaming", undefined, { timeout: 30_000 });
        expect(await page.evaluate(() => lastAnswerState())).toBe("stopped");
        expect(await page.locator("[data-testid=answer-text]").last().textContent()).not.toBe("");
        // The image was encoded once and reused: no second encoding happened for the follow-up.
        expect(await page.getAttribute("[data-testid=image-status]", "data-phase")).toBe("ready");
        expect(await page.locator("[data-testid=answer]").count()).toBe(2);
        await screenshot(page, `${backend}-4-stopped-follow-up`);
      });

    if (backend === "wasm")
      it("loads again from the browser cache after a reload, without downloading", async () => {
        needModel();
        await page.reload();
        modelRequests.length = 0;
        await loadModel(page, backend);
        expect(modelRequests.filter((url) => !url.endsWith("/cobra.json"))).toEqual([]);
        const fromCache = await page.$$eval("[data-testid=file-progress]", (items) =>
          items.map((item) => item.getAttribute("data-from-cache")),
        );
        expect(fromCache.length).toBe(manifest.files.length);
        expect(fromCache.every((c) => c === "true")).toBe(true);
        await screenshot(page, `${backend}-5-reloaded-from-cache`);
      });

    if (backend === "wasm")
      it("loads a picked model folder and answers the same", async () => {
        needModel();
        await page.setInputFiles("[data-testid=model-folder]", resolve(MODELS_DIR, "cobra-tiny"));
        await waitForModel(page, backend);
        expect(await page.getAttribute("[data-testid=active-backend]", "data-backend")).toBe(backend);
        const done = await page.$$eval("[data-testid=file-progress][data-done=true]", (items) =>
          items.map((item) => item.getAttribute("data-file")),
        );
        expect(done.sort()).toEqual(manifest.files.map((f) => f.path).sort());
        await askFixtureQuestion(page);
        expect(await page.locator("[data-testid=answer-text]").last().textContent()).toBe(
          fixture.greedy_text,
        );
        await screenshot(page, `${backend}-6-from-folder`);
      });

    if (backend === "wasm")
      it("says so when browser storage runs out, and still loads", async () => {
        needModel();
        await page.click("[data-testid=clear-cache]");
        // Chromium's estimate() ignores this override, so this exercises the QuotaExceededError path (the
        // estimate check before downloading is covered by the unit tests).
        const cdp = await context.newCDPSession(page);
        await cdp.send("Storage.overrideQuotaForOrigin", {
          origin: new URL(baseUrl).origin,
          quotaSize: 100_000,
        });
        try {
          await page.reload();
          await loadModel(page, backend);
          expect(await page.textContent("[data-testid=notice]")).toMatch(
            /Browser storage ran out while saving/,
          );
          expect(await page.textContent("[data-testid=model-status]")).toMatch(/not kept in this browser/);
          await screenshot(page, `${backend}-7-storage-short`);
        } finally {
          await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(baseUrl).origin });
        }
      });

    if (backend === "wasm")
      it("loads the quantized conversion, shows each part's dtype and streams an answer", async () => {
        needModel();
        await loadModel(page, backend, QUANTIZED_MODEL_PATH);
        // dev:model converts this one with --dtype lm=q4,vision=q8: the projector stays fp32.
        expect(await shownDtypes(page)).toEqual({
          text: "LM q4 · vision q8 · projector fp32",
          lm: "q4",
          vision: "q8",
          projector: "fp32",
        });
        await screenshot(page, `${backend}-8-quantized-loaded`, { viewport: true });
        await askFixtureQuestion(page);
        // Quantized weights answer differently from the oracle's fp32 ones: only that an answer streamed.
        expect(await page.locator("[data-testid=answer-text]").last().textContent()).not.toBe("");
        const snapshots = await page.evaluate(() => (window as unknown as { __answers: string[] }).__answers);
        expect(new Set(snapshots).size).toBeGreaterThan(2);
        await screenshot(page, `${backend}-9-quantized-answer`);
      });
  });
}

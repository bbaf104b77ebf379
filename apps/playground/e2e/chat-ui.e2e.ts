/**
 * The page as a user meets it, on WASM with the tiny model: a model URL that cannot be fetched, the max new
 * tokens field, a long answer streaming in a window of normal size (1280x800) and a phone-sized one (390x844),
 * a new image after a chat, and a file that is not an image. Screenshots go to test-artifacts/ui-*.png.
 */
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "./chromium";
import { firstCase } from "./fixture-case";
import {
  ANSWER_TIMEOUT_MS,
  dropFile,
  dropImage,
  installAnswerState,
  loadModel,
  loadOutcome,
  screenshot,
  startLoad,
} from "./page-actions";
import { FIXTURE_DIR } from "./paths";

const baseUrl = inject("baseUrl");
const fixture = firstCase();
/** Nothing listens on port 9 (discard), so fetching from it fails the way a wrong host does. */
const UNREACHABLE_MODEL = "http://127.0.0.1:9/no-such-model/";
/** Enough tokens that the tiny model is still streaming when the test clicks Stop. */
const LONG_ANSWER_TOKENS = "4096";

describe("playground UI on wasm", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium({ webgpu: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await installAnswerState(page);
    await page.goto(baseUrl);
    await page.waitForSelector("[data-testid=model-url]");
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("names the URL that could not be fetched, and what to check", async () => {
    await startLoad(page, "wasm", UNREACHABLE_MODEL);
    expect(await loadOutcome(page)).toBe("failed");
    const error = await page.textContent("[data-testid=model-error]");
    expect(error).toContain(`${UNREACHABLE_MODEL}cobra.json`);
    expect(error).toMatch(/check/i);
    await screenshot(page, "ui-1-unreachable-model", { viewport: true });
  });

  it("refuses a max new tokens that is not a whole number from 1 up, and says why", async () => {
    await loadModel(page, "wasm");
    await dropImage(page, fixture.imagePath);
    await page.waitForSelector("[data-testid=image-preview]");
    // The loaded model's file list folds away, so the image and its status show without scrolling.
    expect(await inViewport(page, "[data-testid=image-preview]")).toBe(true);
    expect(await inViewport(page, "[data-testid=image-status]")).toBe(true);
    await page.fill("[data-testid=question]", fixture.user_message);
    for (const bad of ["", "0", "2.5", "-5"]) {
      await page.fill("[data-testid=max-new-tokens]", bad);
      expect(await page.textContent("[data-testid=max-new-tokens-error]")).toMatch(/whole number/);
      expect(await page.isDisabled("[data-testid=ask]")).toBe(true);
      await page.press("[data-testid=question]", "Enter");
    }
    await screenshot(page, "ui-2-max-new-tokens-refused", { viewport: true });
    expect(await page.locator("[data-testid=answer]").count()).toBe(0);
    expect(await page.inputValue("[data-testid=question]")).toBe(fixture.user_message);
    await page.fill("[data-testid=max-new-tokens]", "24");
    expect(await page.locator("[data-testid=max-new-tokens-error]").count()).toBe(0);
    expect(await page.isDisabled("[data-testid=ask]")).toBe(false);
  });

  it("keeps the page to the window while a long answer streams, and Stop takes a real click", async () => {
    await startLongAnswer(page);
    const log = page.locator("[data-testid=chat-log]");
    await waitForOverflowingLog(page);
    const stopBefore = await page.locator("[data-testid=stop]").boundingBox();
    const samples: Layout[] = [];
    for (let i = 0; i < 5; i++) {
      await waitForMoreText(page);
      samples.push(await layout(page));
    }
    await screenshot(page, "ui-3-streaming-1280x800", { viewport: true });
    for (const s of samples) {
      expect(s.pageHeight).toBeLessThanOrEqual(s.viewportHeight);
      expect(s.logGap).toBeLessThan(4); // stuck to the bottom
    }
    expect(await page.locator("[data-testid=stop]").boundingBox()).toEqual(stopBefore);

    // Scrolled up to read: new tokens must not pull the log back down.
    const box = await log.boundingBox();
    if (!box) throw new Error("the chat log is not visible");
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(() => {
      const l = document.querySelector("[data-testid=chat-log]");
      return l !== null && l.scrollHeight - l.scrollTop - l.clientHeight > 100;
    });
    const scrolledTo = await log.evaluate((l) => l.scrollTop);
    await waitForMoreText(page);
    await waitForMoreText(page);
    expect(await log.evaluate((l) => l.scrollTop)).toBe(scrolledTo);
    expect(await page.evaluate(() => lastAnswerState())).toBe("streaming");

    await page.click("[data-testid=stop]", { timeout: 10_000 });
    await page.waitForFunction(() => lastAnswerState() !== "streaming", undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => lastAnswerState())).toBe("stopped");
  });

  it("on a phone-sized window the page does not grow while streaming, and Stop takes a real click", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, "ui-4-phone-page", { viewport: false });
    await startLongAnswer(page);
    await waitForOverflowingLog(page);
    const before = await layout(page);
    await page.locator("[data-testid=stop]").scrollIntoViewIfNeeded();
    await waitForMoreText(page);
    await waitForMoreText(page);
    await screenshot(page, "ui-5-phone-streaming", { viewport: true });
    const after = await layout(page);
    expect(after.pageHeight).toBe(before.pageHeight);
    expect(after.pageWidth).toBeLessThanOrEqual(390); // nothing cut off at the right
    expect(after.logGap).toBeLessThan(4);
    await page.click("[data-testid=stop]", { timeout: 10_000 });
    await page.waitForFunction(() => lastAnswerState() !== "streaming", undefined, { timeout: 10_000 });
    expect(await page.evaluate(() => lastAnswerState())).toBe("stopped");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("says that a new image cleared the earlier turns", async () => {
    expect(await page.locator("[data-testid=answer]").count()).toBeGreaterThan(0);
    await dropImage(page, resolve(FIXTURE_DIR, "images/chelsea.png"));
    await page.waitForSelector("[data-testid=image-preview][alt='chelsea.png']");
    expect(await page.textContent("[data-testid=chat-cleared]")).toMatch(
      /New image: the 2 earlier turns were cleared/,
    );
    expect(await page.locator("[data-testid=answer]").count()).toBe(0);
    await screenshot(page, "ui-6-new-image", { viewport: true });
  });

  it("rejects a file that is not a decodable image and keeps the current one", async () => {
    await page.waitForFunction(
      () => document.querySelector("[data-testid=image-status]")?.getAttribute("data-phase") === "ready",
      undefined,
      { timeout: ANSWER_TIMEOUT_MS },
    );
    const bytes = new TextEncoder().encode("this is not a PNG, only text with a .png name");
    await dropFile(page, { name: "broken.png", type: "image/png", bytes });
    await page.waitForSelector("[data-testid=image-error]");
    expect(await page.textContent("[data-testid=image-error]")).toMatch(/broken\.png .*not an image/);
    expect(await inViewport(page, "[data-testid=image-error]")).toBe(true);
    await screenshot(page, "ui-7-broken-image", { viewport: true });
    // The previous image stays, fully decoded, and no broken-image icon appears anywhere.
    expect(await page.getAttribute("[data-testid=image-preview]", "alt")).toBe("chelsea.png");
    const images = await page.$$eval("img", (all) =>
      all.map((img) => ({ complete: img.complete, width: img.naturalWidth })),
    );
    expect(images.length).toBeGreaterThan(0);
    expect(images.filter((img) => !img.complete || img.width === 0)).toEqual([]);
    expect(await page.getAttribute("[data-testid=image-status]", "data-phase")).toBe("ready");
    expect(await page.locator("[data-testid=chat-cleared]").count()).toBe(1);
  });
});

interface Layout {
  /** document.scrollingElement.scrollHeight and scrollWidth: how tall and wide the page is. */
  pageHeight: number;
  pageWidth: number;
  viewportHeight: number;
  /** How far the chat log is from its bottom (0: scrolled to the newest text). */
  logGap: number;
}

function layout(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const log = document.querySelector("[data-testid=chat-log]");
    if (!log || !document.scrollingElement) throw new Error("no chat log");
    return {
      pageHeight: document.scrollingElement.scrollHeight,
      pageWidth: document.scrollingElement.scrollWidth,
      viewportHeight: window.innerHeight,
      logGap: log.scrollHeight - log.scrollTop - log.clientHeight,
    };
  });
}

/** Whether the element shows in the window: its middle is on screen and not clipped by a scrolled column. */
function inViewport(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect();
    return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
  });
}

async function startLongAnswer(page: Page): Promise<void> {
  await page.fill("[data-testid=max-new-tokens]", LONG_ANSWER_TOKENS);
  await page.fill("[data-testid=question]", fixture.user_message);
  await page.click("[data-testid=ask]");
  await page.waitForFunction(() => lastAnswerState() === "streaming", undefined, {
    timeout: ANSWER_TIMEOUT_MS,
  });
}

/** Waits until the answer so far is taller than the chat log shows, or the page has grown past the window. */
async function waitForOverflowingLog(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const log = document.querySelector("[data-testid=chat-log]");
      const pageHeight = document.scrollingElement?.scrollHeight ?? 0;
      if (lastAnswerState() !== "streaming") throw new Error(`the answer ended: ${lastAnswerState()}`);
      return (log && log.scrollHeight > log.clientHeight + 50) || pageHeight > window.innerHeight + 50;
    },
    undefined,
    { timeout: ANSWER_TIMEOUT_MS, polling: 100 },
  );
}

/** Waits for the streaming answer to grow by a few tokens. */
async function waitForMoreText(page: Page): Promise<void> {
  const length = await page.evaluate(
    () => [...document.querySelectorAll("[data-testid=answer-text]")].at(-1)?.textContent?.length ?? 0,
  );
  await page.waitForFunction(
    (before) => {
      if (lastAnswerState() !== "streaming") throw new Error(`the answer ended: ${lastAnswerState()}`);
      const now = [...document.querySelectorAll("[data-testid=answer-text]")].at(-1)?.textContent ?? "";
      return now.length > before + 20;
    },
    length,
    { timeout: 30_000, polling: 50 },
  );
}

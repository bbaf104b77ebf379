/** What the browser tests do on the page the way a user would: load a model, drop files, wait, screenshot. */
import { mkdirSync, readFileSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import type { Page } from "playwright-core";
import { firstCase } from "./fixture-case";
import { ARTIFACTS_DIR, MODEL_PATH, MODELS_DIR } from "./paths";

/** The first fixture case, and the converted tiny model's manifest (its file list). */
export const fixture = firstCase();
const parsed = JSON.parse(readFileSync(resolve(MODELS_DIR, "cobra-tiny/cobra.json"), "utf8")) as {
  parts: Record<string, { files: { path: string }[] }>;
};
export const manifest = { files: Object.values(parsed.parts).flatMap((p) => p.files) };

export const MODEL_TIMEOUT_MS = 240_000;
export const ANSWER_TIMEOUT_MS = 240_000;

mkdirSync(ARTIFACTS_DIR, { recursive: true });

declare global {
  /** Installed in the page by `installAnswerState`. */
  function lastAnswerState(): string | null;
}

/** Gives the page `lastAnswerState()`: the state of the newest answer ("waiting", "streaming", "done", …). */
export async function installAnswerState(page: Page): Promise<void> {
  await page.addInitScript(() => {
    (window as unknown as { lastAnswerState(): string | null }).lastAnswerState = () =>
      [...document.querySelectorAll("[data-testid=answer]")].at(-1)?.getAttribute("data-state") ?? null;
  });
}

export async function loadModel(page: Page, backend: "wasm" | "webgpu", url = MODEL_PATH): Promise<void> {
  await startLoad(page, backend, url);
  await waitForModel(page, backend);
}

export async function startLoad(page: Page, backend: "wasm" | "webgpu", url: string): Promise<void> {
  await page.fill("[data-testid=model-url]", url);
  await page.selectOption("[data-testid=backend-select]", backend);
  await page.click("[data-testid=load-model]");
}

/** Waits until loading ends and returns how: "ready", "failed" or "stopped". */
export async function loadOutcome(page: Page): Promise<string | null> {
  await page.waitForFunction(
    () => {
      const phase = document.querySelector("[data-testid=model-status]")?.getAttribute("data-phase");
      return phase === "ready" || phase === "failed" || phase === "stopped";
    },
    undefined,
    { timeout: MODEL_TIMEOUT_MS },
  );
  return page.getAttribute("[data-testid=model-status]", "data-phase");
}

export async function waitForModel(page: Page, backend: "wasm" | "webgpu"): Promise<void> {
  const phase = await loadOutcome(page);
  if (phase !== "ready") {
    await screenshot(page, `${backend}-load-${phase}`);
    throw new Error(
      `loading the model ended "${phase}": ${await page.textContent("[data-testid=model-status]")}`,
    );
  }
}

/** What the status line says each part's weights are stored at: its text and its per-part attributes. */
export async function shownDtypes(page: Page) {
  return page.$eval("[data-testid=model-dtypes]", (el) => ({
    text: el.textContent,
    lm: el.getAttribute("data-lm"),
    vision: el.getAttribute("data-vision"),
    projector: el.getAttribute("data-projector"),
  }));
}

/** Drops an image file from disk on the drop zone. */
export async function dropImage(page: Page, path: string): Promise<void> {
  const type = extname(path) === ".png" ? "image/png" : "image/jpeg";
  await dropFile(page, { name: basename(path), type, bytes: readFileSync(path) });
}

/** Drops a file on the image drop zone the way a user's drag and drop does (a DataTransfer with a File). */
export async function dropFile(page: Page, file: { name: string; type: string; bytes: Uint8Array }) {
  const dataTransfer = await page.evaluateHandle(
    ({ base64, name, type }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type }));
      return transfer;
    },
    { base64: Buffer.from(file.bytes).toString("base64"), name: file.name, type: file.type },
  );
  await page.dispatchEvent("[data-testid=image-drop]", "drop", { dataTransfer });
}

/** Records every text the last answer shows while it streams (in `window.__answers`). */
export async function recordAnswerSnapshots(page: Page): Promise<void> {
  await page.evaluate(() => {
    const answers: string[] = [];
    (window as unknown as { __answers: string[] }).__answers = answers;
    const log = document.querySelector("[data-testid=chat-log]");
    if (!log) throw new Error("no chat log");
    new MutationObserver(() => {
      const all = log.querySelectorAll("[data-testid=answer-text]");
      const text = all[all.length - 1]?.textContent ?? "";
      if (answers.at(-1) !== text) answers.push(text);
    }).observe(log, { subtree: true, childList: true, characterData: true });
  });
}

/** The whole page (fullPage), or with `viewport` only what the window shows. */
export async function screenshot(page: Page, name: string, options: { viewport?: boolean } = {}) {
  await page.screenshot({ path: resolve(ARTIFACTS_DIR, `${name}.png`), fullPage: !options.viewport });
}

/** Drops the fixture image, asks the fixture question and waits for the whole answer. */
export async function askFixtureQuestion(page: Page): Promise<void> {
  await dropImage(page, fixture.imagePath);
  await page.waitForSelector("[data-testid=image-preview]");
  await page.fill("[data-testid=max-new-tokens]", String(fixture.max_new_tokens));
  await page.fill("[data-testid=question]", fixture.user_message);
  await recordAnswerSnapshots(page);
  await page.click("[data-testid=ask]");
  await page.waitForFunction(
    () => ["done", "stopped", "failed"].includes(lastAnswerState() ?? ""),
    undefined,
    {
      timeout: ANSWER_TIMEOUT_MS,
    },
  );
  const answer = page.locator("[data-testid=answer]").last();
  const state = await answer.getAttribute("data-state");
  if (state !== "done") throw new Error(`the answer ended "${state}": ${await answer.textContent()}`);
}

/** Where the e2e test finds the app, the fixture model and case, and where it leaves its artifacts. */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const APP_DIR = fileURLToPath(new URL("..", import.meta.url));
export const DIST_DIR = resolve(APP_DIR, "dist");
export const MODELS_DIR = resolve(APP_DIR, ".models");
export const ARTIFACTS_DIR = resolve(APP_DIR, "test-artifacts");
export const FIXTURE_DIR = resolve(
  process.env.COBRA_FIXTURES ?? resolve(APP_DIR, "../../../shared/fixtures"),
  "cobra-tiny",
);
/** The URL path the dev and preview servers serve the converted tiny model under. */
export const MODEL_PATH = "/models/cobra-tiny/";
/** The tiny model converted with `--dtype lm=q4,vision=q8` (the projector stays fp32), by `npm run dev:model`. */
export const QUANTIZED_MODEL = "cobra-tiny-lm-q4-vision-q8";
export const QUANTIZED_MODEL_PATH = `/models/${QUANTIZED_MODEL}/`;

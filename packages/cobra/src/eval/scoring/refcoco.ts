import { literalEvalNumbers } from "./python-literal.js";

/**
 * RefCOCO's Acc@0.5 as vlm-evaluation scores it (`harnesses/refcoco.py`): ground truth is the COCO box
 * normalized to [x1, y1, x2, y2] and rounded to 2 decimals; the model's text must `ast.literal_eval` to a list
 * of 4 normalized coordinates with x1 < x2 and y1 < y2, else the answer is invalid and counts as wrong.
 */
export type Box = [number, number, number, number];

/**
 * Python's `round(x, 2)`: the decimal nearest to x's exact binary value, ties to even. `toFixed` rounds the exact
 * value too but breaks ties upward; an exact tie at 2 decimals is an odd multiple of 1/8 (0.125, 0.375, ...).
 */
export function pythonRound2(x: number): number {
  if (!Number.isFinite(x)) return x;
  const eighths = x * 8;
  if (Number.isInteger(eighths) && eighths % 2 !== 0 && Math.abs(x) < 2 ** 40) {
    const hundredths = x * 100; // exact: an odd multiple of 12.5
    const down = Math.floor(hundredths);
    return (down % 2 === 0 ? down : down + 1) / 100;
  }
  return Number(x.toFixed(2));
}

/** `box_xywh2xyxy(bbox, (width, height), do_normalize=True)`; null where its assertions would fail. */
export function normalizedBox(xywh: readonly number[], width: number, height: number): Box | null {
  const [x, y, w, h] = xywh;
  const xyxy = [x, y, x + w, y + h];
  if (!(xyxy[0] < xyxy[2] && xyxy[2] <= width)) return null;
  if (!(xyxy[1] < xyxy[3] && xyxy[3] <= height)) return null;
  return [xyxy[0] / width, xyxy[1] / height, xyxy[2] / width, xyxy[3] / height].map(pythonRound2) as Box;
}

/** `parse_bbox`: the box a model wrote, or null when it is not a valid normalized [x1, y1, x2, y2]. */
export function parseBox(text: string): Box | null {
  const value = literalEvalNumbers(text);
  if (!Array.isArray(value) || value.length !== 4) return null;
  if (!value.every((v) => typeof v === "number" || typeof v === "boolean")) return null;
  const box = value.map(Number) as Box;
  if (!box.every((c) => c >= 0 && c <= 1)) return null;
  if (!(box[0] < box[2] && box[1] < box[3])) return null;
  return box;
}

/** `compute_iou` on two xyxy boxes. */
export function iou(a: Box, b: Box): number {
  const ix1 = Math.max(a[0], b[0]);
  const iy1 = Math.max(a[1], b[1]);
  const ix2 = Math.min(a[2], b[2]);
  const iy2 = Math.min(a[3], b[3]);
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  const inter = Math.max(0, ix2 - ix1) * Math.max(0, iy2 - iy1);
  return inter / (areaA + areaB - inter);
}

export interface BoxCounts {
  correct: number;
  incorrect: number;
  invalid: number;
}

/** Counts answers as RefCOCOScorer does: invalid, IoU >= 0.5 correct, else incorrect. */
export function countBoxes(pairs: readonly { answer: string; truth: Box }[]): BoxCounts {
  const counts: BoxCounts = { correct: 0, incorrect: 0, invalid: 0 };
  for (const { answer, truth } of pairs) {
    const box = parseBox(answer);
    if (!box) counts.invalid++;
    else if (iou(box, truth) >= 0.5) counts.correct++;
    else counts.incorrect++;
  }
  return counts;
}

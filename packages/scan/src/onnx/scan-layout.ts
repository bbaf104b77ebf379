/**
 * Layouts of the scan's per-token tensors (u, delta, z over d channels; B, C over N channels):
 * - "channels-first": [batch, channels, L], selective_scan_ref's (and the fixtures');
 * - "channels-last": [batch, L, channels], what a model's projections produce (MatMul over the last axis),
 *   so a model feeds them without transposes;
 * - "time-major": [L, batch, channels], what the Scan op walks: a model whose stream is time-major feeds
 *   the Scan with no transposes at all (and projections work on it as they are).
 * States are [batch, d, N] in all. The emitters convert to whatever their op wants (time-major for Scan,
 * channels-last for LinearAttention) on these small tensors, never on the [.., d, N]-sized ones.
 */
import type { GraphBuilder } from "@cobra-ts/core";
import { transpose, unsqueeze } from "./common.js";

export type ScanLayout = "channels-first" | "channels-last" | "time-major";

/** A per-channel vector [d] shaped to broadcast against tensors of the layout. */
export function perChannel(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return layout === "channels-first" ? unsqueeze(g, v, [1]) : v;
}

/** -> [L, batch, channels] (Scan iterates axis 0). */
export function toTimeMajor(g: GraphBuilder, v: string, layout: ScanLayout): string {
  if (layout === "time-major") return v;
  return transpose(g, v, layout === "channels-first" ? [2, 0, 1] : [1, 0, 2]);
}

/** Inverse of toTimeMajor. */
export function fromTimeMajor(g: GraphBuilder, v: string, layout: ScanLayout): string {
  if (layout === "time-major") return v;
  return transpose(g, v, layout === "channels-first" ? [1, 2, 0] : [1, 0, 2]);
}

/** -> [batch, L, channels]. */
export function toChannelsLast(g: GraphBuilder, v: string, layout: ScanLayout): string {
  if (layout === "channels-last") return v;
  return transpose(g, v, layout === "channels-first" ? [0, 2, 1] : [1, 0, 2]);
}

/** Inverse of toChannelsLast. */
export function fromChannelsLast(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return toChannelsLast(g, v, layout); // each of those swaps two axes: its own inverse
}

/**
 * Layouts of the scan's per-token tensors (u, delta, z over d channels; B, C over N channels):
 * - "channels-first": [batch, channels, L], selective_scan_ref's (and the fixtures');
 * - "channels-last": [batch, L, channels], what a model's projections produce (MatMul over the last axis),
 *   so a model feeds them without transposes.
 * States are [batch, d, N] in both. The emitters convert to whatever their op wants (time-major for Scan,
 * channels-last for LinearAttention) on these small tensors, never on the [.., d, N]-sized ones.
 */
import type { GraphBuilder } from "@cobra-ts/core";
import { transpose, unsqueeze } from "./common.js";

export type ScanLayout = "channels-first" | "channels-last";

/** A per-channel vector [d] shaped to broadcast against [batch, d, L] / [batch, L, d] tensors. */
export function perChannel(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return layout === "channels-first" ? unsqueeze(g, v, [1]) : v;
}

/** [batch, channels, L] or [batch, L, channels] -> [L, batch, channels] (Scan iterates axis 0). */
export function toTimeMajor(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return transpose(g, v, layout === "channels-first" ? [2, 0, 1] : [1, 0, 2]);
}

/** Inverse of toTimeMajor. */
export function fromTimeMajor(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return transpose(g, v, layout === "channels-first" ? [1, 2, 0] : [1, 0, 2]);
}

/** [batch, channels, L] -> [batch, L, channels]; channels-last input as is. */
export function toChannelsLast(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return layout === "channels-first" ? transpose(g, v, [0, 2, 1]) : v;
}

/** Inverse of toChannelsLast. */
export function fromChannelsLast(g: GraphBuilder, v: string, layout: ScanLayout): string {
  return toChannelsLast(g, v, layout); // swapping the last two axes is its own inverse
}

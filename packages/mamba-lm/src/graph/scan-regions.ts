/**
 * Where each layer's selective scan sits in the LM graph: the values it reads and the two it produces. The
 * converter records them in the graph's metadata, so a runtime can stop the graph before each scan, run the
 * scan in a @cobra-ts/scan kernel, and go on (see split-at-scans.ts), from the graph alone.
 */
import { ModelFormatError } from "@cobra-ts/core";
import { z } from "zod";

/** Where the LM's selective scans run (core's, so a composer can choose it for any LM part). */
export type { ScanForm } from "@cobra-ts/core";

/** metadata_props key of the JSON-encoded ScanRegions. */
export const SCAN_REGIONS_METADATA = "cobra.scan_regions";

/** The scan's value names in one layer (its inputs as mamba_ssm's selective_scan_fn takes them). */
export interface ScanRegion {
  /** [positions, batch, d_inner] */
  u: string;
  /** [positions, batch, d_inner], before the bias and the softplus. */
  delta: string;
  /** [d_inner, d_state] */
  A: string;
  /** [positions, batch, d_state] */
  B: string;
  C: string;
  /** [d_inner] */
  D: string;
  /** [positions, batch, d_inner] */
  z: string;
  /** [d_inner] */
  deltaBias: string;
  /** [batch, d_state, d_inner] */
  initialState: string;
  /** [positions, batch, d_inner]: (y + D u) silu(z) */
  out: string;
  /** [batch, d_state, d_inner] */
  lastState: string;
}

/** How the LM graph's scans are laid out: the one form the converter emits. */
export const TIME_MAJOR_SCAN = { layout: "time-major", stateLayout: "n-major", deltaSoftplus: true } as const;

export interface ScanRegions {
  layout: typeof TIME_MAJOR_SCAN.layout;
  stateLayout: typeof TIME_MAJOR_SCAN.stateLayout;
  deltaSoftplus: typeof TIME_MAJOR_SCAN.deltaSoftplus;
  layers: ScanRegion[];
}

const name = z.string().min(1);
const regionsSchema = z.object({
  layout: z.literal(TIME_MAJOR_SCAN.layout),
  stateLayout: z.literal(TIME_MAJOR_SCAN.stateLayout),
  deltaSoftplus: z.literal(TIME_MAJOR_SCAN.deltaSoftplus),
  layers: z.array(
    z.object({
      u: name,
      delta: name,
      A: name,
      B: name,
      C: name,
      D: name,
      z: name,
      deltaBias: name,
      initialState: name,
      out: name,
      lastState: name,
    }),
  ),
});

/** The regions recorded in a graph's metadata; a clear error when the graph predates them. */
export function readScanRegions(metadata: Readonly<Record<string, string>>, what: string): ScanRegions {
  const text = metadata[SCAN_REGIONS_METADATA];
  if (text === undefined)
    throw new ModelFormatError(
      `${what}: this LM graph does not record where its scans are (converted by an older cobra-ts); convert it again to run its scan in a kernel (scan: "kernel"), or load it with scan: "graph"`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${what}: ${SCAN_REGIONS_METADATA} is not JSON`, { cause: e });
  }
  const result = regionsSchema.safeParse(parsed);
  if (!result.success)
    throw new ModelFormatError(`${what}: ${SCAN_REGIONS_METADATA} is malformed (${result.error.message})`);
  return result.data;
}

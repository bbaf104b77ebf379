/** A channel range [c0, c1) of batch row b that reads B/C group g. */
export interface Segment {
  b: number;
  g: number;
  c0: number;
  c1: number;
}

/** The (batch, group) segments of a call: one per batch row and group of d / groups channels. */
export function segments(batch: number, d: number, groups: number): Segment[] {
  const out: Segment[] = [];
  const per = d / groups;
  for (let b = 0; b < batch; b++)
    for (let g = 0; g < groups; g++) out.push({ b, g, c0: g * per, c1: (g + 1) * per });
  return out;
}

/**
 * Splits segments across `threads` into contiguous shares of about equal size, cutting at multiples of
 * `granularity` channels from each segment's start (the SIMD kernels work on 4 channels at a time).
 */
export function splitWork(segs: Segment[], threads: number, granularity = 4): Segment[][] {
  const units = segs.map((s) => Math.ceil((s.c1 - s.c0) / granularity));
  const total = units.reduce((a, b) => a + b, 0);
  const shares: Segment[][] = Array.from({ length: threads }, () => []);
  let start = 0; // global unit index where the current segment begins
  segs.forEach((s, i) => {
    const end = start + units[i];
    for (let k = 0; k < threads; k++) {
      const lo = Math.max(start, Math.floor((k * total) / threads));
      const hi = Math.min(end, Math.floor(((k + 1) * total) / threads));
      if (hi <= lo) continue;
      const c0 = s.c0 + (lo - start) * granularity;
      const c1 = Math.min(s.c1, s.c0 + (hi - start) * granularity);
      shares[k].push({ b: s.b, g: s.g, c0, c1 });
    }
    start = end;
  });
  return shares;
}

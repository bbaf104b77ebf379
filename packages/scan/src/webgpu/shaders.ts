/**
 * WGSL for the four kernels. Flags travel in a uniform (bit 0 softplus / silu, then one bit per optional
 * input); the state size N is a compile-time constant so the N states of a channel live in registers.
 * Absent optional inputs are bound to a dummy buffer and never read.
 */

export const FLAG = {
  SOFTPLUS: 1,
  HAS_D: 2,
  HAS_Z: 4,
  HAS_BIAS: 8,
  HAS_INIT: 16,
  SILU: 1,
} as const;

/** Threads per workgroup of every kernel (channels per workgroup for the scan). */
export const WORKGROUP = 64;

// exp by the same range reduction and polynomial as the wasm kernel (relative error <= 2e-7 for |x| < 10):
// WGSL lets exp() be off by 3 + 2|x| ulp, and SwiftShader's is loose enough to miss the fixtures' 1e-5.
// softplus as torch (identity above 20): max(x, 0) + log1p(exp(-|x|)), log1p(y) = 2 atanh(y / (2 + y)) by
// the wasm kernel's polynomial too (WGSL has no log1p; log(1 + y) loses tiny y).
const COMMON = /* wgsl */ `
fn exp_(x: f32) -> f32 {
  let t = clamp(x * 1.4426950408889634, -125.0, 127.0);
  let k = round(t);
  let f = t - k;
  let p = 1.0 + f * (0.6931470036506653 + f * (0.24022242426872253 + f * (0.05550733581185341 + f * (0.009671512991189957 + f * 0.0013264729641377926))));
  return ldexp(p, i32(k));
}
fn log1p01(y: f32) -> f32 {
  let s = y / (2.0 + y);
  let q = s * s;
  return 2.0 * s * (1.0 + q * (0.3333315849304199 + q * (0.20012453198432922 + q * (0.1398032009601593 + q * 0.14089086651802063))));
}
fn softplus(x: f32) -> f32 {
  if (x > 20.0) { return x; }
  return max(x, 0.0) + log1p01(exp_(-abs(x)));
}
fn silu(x: f32) -> f32 {
  return x / (1.0 + exp_(-x));
}
`;

/**
 * A kernel's bind group 0, in the order dispatch binds its buffers: the Params uniform `p` at 0, then the
 * storage buffers it reads, then the ones it writes.
 */
function bindings(read: readonly string[], readWrite: readonly string[]): string {
  const storage = [...read.map((name) => ["read", name]), ...readWrite.map((name) => ["read_write", name])];
  return [
    "@group(0) @binding(0) var<uniform> p: Params;",
    ...storage.map(
      ([access, name], i) => `@group(0) @binding(${i + 1}) var<storage, ${access}> ${name}: array<f32>;`,
    ),
  ].join("\n");
}

/** Tokens of B and C staged in workgroup memory per tile (2 N T floats must fit the 16 KiB default). */
export function scanTile(N: number): number {
  return Math.max(1, Math.min(64, Math.floor(2048 / N)));
}

/**
 * Selective scan: one invocation per channel, its N states in registers; a workgroup is 64 channels of one
 * (batch, group), which share B_t and C_t: the workgroup stages them in tiles of T tokens.
 */
export function scanShader(N: number): string {
  const T = scanTile(N);
  return /* wgsl */ `${COMMON}
const N = ${N}u;
const T = ${T}u;
const WG = ${WORKGROUP}u;
struct Params { batch: u32, d: u32, L: u32, groups: u32, dg: u32, blocks: u32, flags: u32, nx: u32 }
${bindings(["u", "delta", "z", "A", "B", "C", "D", "bias"], ["state", "out"])}
var<workgroup> tB: array<f32, ${N * T}>;
var<workgroup> tC: array<f32, ${N * T}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * p.nx;
  if (wg >= p.batch * p.groups * p.blocks) { return; }
  let bg = wg / p.blocks;            // batch * groups + group
  let k = (wg % p.blocks) * WG + lid; // channel within the group
  let live = k < p.dg; // spare invocations of the last block compute but never store
  let c = (bg % p.groups) * p.dg + min(k, p.dg - 1u);
  let b = bg / p.groups;
  let row = (b * p.d + c) * p.L;
  let bc = bg * N * p.L;
  let st = (b * p.d + c) * N;
  var a: array<f32, N>;
  var h: array<f32, N>;
  for (var n = 0u; n < N; n++) {
    a[n] = A[c * N + n];
    h[n] = 0.0;
  }
  if (live && (p.flags & ${FLAG.HAS_INIT}u) != 0u) {
    for (var n = 0u; n < N; n++) { h[n] = state[st + n]; }
  }
  var dBias = 0.0;
  if ((p.flags & ${FLAG.HAS_BIAS}u) != 0u) { dBias = bias[c]; }
  var dSkip = 0.0;
  if ((p.flags & ${FLAG.HAS_D}u) != 0u) { dSkip = D[c]; }
  for (var t0 = 0u; t0 < p.L; t0 += T) {
    let tn = min(T, p.L - t0);
    for (var i = lid; i < N * T; i += WG) {
      let tt = i % T;
      if (tt < tn) {
        let src = bc + (i / T) * p.L + t0 + tt;
        tB[i] = B[src];
        tC[i] = C[src];
      }
    }
    workgroupBarrier();
    for (var tt = 0u; tt < tn; tt++) {
      let idx = row + t0 + tt;
      var dt = delta[idx] + dBias;
      if ((p.flags & ${FLAG.SOFTPLUS}u) != 0u) { dt = softplus(dt); }
      let x = u[idx];
      let dx = dt * x;
      var y = 0.0;
      for (var n = 0u; n < N; n++) {
        // h = exp(dt A) h + dt x B_t ; y = C_t . h
        h[n] = exp_(dt * a[n]) * h[n] + dx * tB[n * T + tt];
        y += h[n] * tC[n * T + tt];
      }
      y += dSkip * x;
      if ((p.flags & ${FLAG.HAS_Z}u) != 0u) { y *= silu(z[idx]); }
      if (live) { out[idx] = y; }
    }
    workgroupBarrier();
  }
  if (live) {
    for (var n = 0u; n < N; n++) { state[st + n] = h[n]; }
  }
}
`;
}

/** One-token state update: one invocation per (batch, channel); the state is updated in place. */
export function stateUpdateShader(N: number): string {
  return /* wgsl */ `${COMMON}
const N = ${N}u;
struct Params { batch: u32, d: u32, groups: u32, dg: u32, flags: u32, nx: u32, pad0: u32, pad1: u32 }
${bindings(["x", "dt", "z", "A", "B", "C", "D", "bias"], ["state", "out"])}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.nx * ${WORKGROUP}u; // batch * d + channel
  if (i >= p.batch * p.d) { return; }
  let c = i % p.d;
  let bc = ((i / p.d) * p.groups + c / p.dg) * N;
  var delta = dt[i];
  if ((p.flags & ${FLAG.HAS_BIAS}u) != 0u) { delta += bias[c]; }
  if ((p.flags & ${FLAG.SOFTPLUS}u) != 0u) { delta = softplus(delta); }
  let xv = x[i];
  let dx = delta * xv;
  var y = 0.0;
  for (var n = 0u; n < N; n++) {
    let s = exp_(delta * A[c * N + n]) * state[i * N + n] + dx * B[bc + n];
    state[i * N + n] = s;
    y += s * C[bc + n];
  }
  if ((p.flags & ${FLAG.HAS_D}u) != 0u) { y += xv * D[c]; }
  if ((p.flags & ${FLAG.HAS_Z}u) != 0u) { y *= silu(z[i]); }
  out[i] = y;
}
`;
}

/**
 * Causal depthwise conv1d: one invocation per output element, then one per final-state element
 * (invocations past batch*d*L write the last W-1 inputs of each row).
 */
export const CONV_SHADER = /* wgsl */ `${COMMON}
struct Params { batch: u32, d: u32, L: u32, W: u32, flags: u32, nx: u32, pad0: u32, pad1: u32 }
${bindings(["x", "w", "bias", "init"], ["out", "final_state"])}

// Input j of a row, j in [-(W-1), L): the initial state (or zeros) left of x.
fn input(row: u32, j: i32) -> f32 {
  if (j >= 0) { return x[row * p.L + u32(j)]; }
  if ((p.flags & ${FLAG.HAS_INIT}u) == 0u) { return 0.0; }
  return init[row * (p.W - 1u) + u32(i32(p.W) - 1 + j)];
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.nx * ${WORKGROUP}u;
  let n_out = p.batch * p.d * p.L;
  if (i < n_out) {
    let row = i / p.L;
    let t = i32(i % p.L);
    let c = row % p.d;
    var acc = 0.0;
    if ((p.flags & ${FLAG.HAS_BIAS}u) != 0u) { acc = bias[c]; }
    for (var k = 0u; k < p.W; k++) {
      // F.conv1d is a cross-correlation: out[t] = bias + sum_k w[k] x[t - (W-1) + k]
      acc += w[c * p.W + k] * input(row, t - i32(p.W) + 1 + i32(k));
    }
    if ((p.flags & ${FLAG.SILU}u) != 0u) { acc = silu(acc); }
    out[i] = acc;
    return;
  }
  let hist = p.W - 1u;
  let f = i - n_out;
  if (hist == 0u || f >= p.batch * p.d * hist) { return; }
  let row = f / hist;
  final_state[f] = input(row, i32(p.L) - i32(hist) + i32(f % hist));
}
`;

/** One-token conv update: one invocation per (batch, channel); rolls its state row left, writes x last. */
export const CONV_UPDATE_SHADER = /* wgsl */ `${COMMON}
struct Params { batch: u32, d: u32, W: u32, flags: u32, nx: u32, pad0: u32, pad1: u32, pad2: u32 }
${bindings(["x", "w", "bias"], ["state", "out"])}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.nx * ${WORKGROUP}u;
  if (i >= p.batch * p.d) { return; }
  let c = i % p.d;
  let s = i * p.W;
  var acc = 0.0;
  for (var k = 0u; k < p.W; k++) {
    var v = x[i];
    if (k + 1u < p.W) { v = state[s + k + 1u]; }
    state[s + k] = v;
    acc += v * w[c * p.W + k];
  }
  if ((p.flags & ${FLAG.HAS_BIAS}u) != 0u) { acc += bias[c]; }
  if ((p.flags & ${FLAG.SILU}u) != 0u) { acc = silu(acc); }
  out[i] = acc;
}
`;

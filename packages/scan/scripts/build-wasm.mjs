#!/usr/bin/env node
// Assembles src/wasm/scan.wat into src/wasm/scan-wasm.generated.ts (the two binaries as base64, so the kernel
// module needs no fs and loads the same way in Node and browsers).
//   node scripts/build-wasm.mjs          regenerate
//   node scripts/build-wasm.mjs --check  exit 1 if the generated module is not what the .wat gives
// Before assembling, the macros (@exp2 X), (@softplus X), (@silu X) are expanded inline (see scan.wat).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

const here = dirname(fileURLToPath(import.meta.url));
const watPath = join(here, "../src/wasm/scan.wat");
const outPath = join(here, "../src/wasm/scan-wasm.generated.ts");

const f32x4 = (v) => `(v128.const f32x4 ${v} ${v} ${v} ${v})`;
const LOG2E = "1.4426950408889634";
const MAGIC = "12582912"; // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
// 2^f on [-0.5, 0.5], degree 5 with c0 = 1 exactly (so exp(0) = 1: a state with dt = 0 must not grow),
// fitted for minimum relative error (max 1.9e-7 evaluated in float32).
const EXP2_POLY = [
  1, 0.6931470036506653, 0.24022242426872253, 0.05550733581185341, 0.009671512991189957,
  0.0013264729641377926,
];
// atanh(s)/s as a polynomial in q = s^2 on [0, 1/9], degree 4 (max relative error 6.8e-8).
const ATANH_POLY = [1, 0.3333315849304199, 0.20012453198432922, 0.1398032009601593, 0.14089086651802063];

/** Horner form c0 + v*(c1 + v*(...)) of a polynomial in the local `v`. */
function horner(coeffs, v) {
  let e = f32x4(coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--)
    e = `(f32x4.add ${f32x4(coeffs[i])} (f32x4.mul (local.get ${v}) ${e}))`;
  return e;
}

// pmin/pmax (a < b ? b : a) rather than min/max: one x86 instruction instead of eight (min/max must order
// -0 < +0 and propagate either NaN; pmax(x, c) still propagates a NaN x).
const MACROS = {
  // 2^x, x clamped to [-125, 127] (see scan.wat).
  exp2: (x) => `(block (result v128)
    (local.set $e_t (f32x4.pmin (f32x4.pmax ${x} ${f32x4(-125)}) ${f32x4(127)}))
    (local.set $e_r (f32x4.add (local.get $e_t) ${f32x4(MAGIC)}))
    (local.set $e_t (f32x4.sub (local.get $e_t) (f32x4.sub (local.get $e_r) ${f32x4(MAGIC)})))
    (i32x4.add ${horner(EXP2_POLY, "$e_t")} (i32x4.shl (local.get $e_r) (i32.const 23))))`,
  // torch softplus: x > 20 ? x : log1p(exp(x)) = max(x, 0) + log1p(exp(-|x|)); log1p(y) = 2 atanh(y / (2 + y)),
  // which keeps full relative precision for tiny y (no 1 + y rounding).
  softplus: (x) => `(block (result v128)
    (local.set $s_x ${x})
    (local.set $s_y (@exp2 (f32x4.mul (f32x4.abs (local.get $s_x)) ${f32x4(`-${LOG2E}`)})))
    (local.set $s_y (f32x4.div (local.get $s_y) (f32x4.add (local.get $s_y) ${f32x4(2)})))
    (local.set $s_q (f32x4.mul (local.get $s_y) (local.get $s_y)))
    (v128.bitselect
      (local.get $s_x)
      (f32x4.add (f32x4.pmax (local.get $s_x) ${f32x4(0)})
        (f32x4.mul (f32x4.add (local.get $s_y) (local.get $s_y)) ${horner(ATANH_POLY, "$s_q")}))
      (f32x4.gt (local.get $s_x) ${f32x4(20)})))`,
  // x * sigmoid(x) = x / (1 + exp(-x))
  silu: (x) => `(block (result v128)
    (local.set $s_x ${x})
    (f32x4.div (local.get $s_x) (f32x4.add ${f32x4(1)} (@exp2 (f32x4.mul (local.get $s_x) ${f32x4(`-${LOG2E}`)})))))`,
};

/** Expands every (@name ARG) until none is left. */
export function expandMacros(text) {
  for (;;) {
    const m = /\(@(\w+)\s/.exec(text);
    if (!m) return text;
    const macro = MACROS[m[1]];
    if (!macro) throw new Error(`unknown macro @${m[1]}`);
    let depth = 0;
    let end = m.index;
    for (; end < text.length; end++) {
      if (text[end] === "(") depth++;
      else if (text[end] === ")" && --depth === 0) break;
    }
    if (depth !== 0) throw new Error(`unbalanced parentheses after @${m[1]}`);
    const arg = text.slice(m.index + m[0].length, end).trim();
    text = text.slice(0, m.index) + macro(arg) + text.slice(end + 1);
  }
}

export async function assemble(source) {
  const wabt = await wabtInit();
  const features = { simd: true, threads: true, bulk_memory: true, sat_float_to_int: true };
  // Comments go first: they mention the macros too.
  const expanded = expandMacros(source.replace(/;;.*$/gm, ""));
  const binaries = {};
  for (const [name, text] of [
    ["shared", expanded],
    ["private", expanded.replace("(memory 1 65536 shared)", "(memory 1 65536)")],
  ]) {
    const mod = wabt.parseWat(`scan.wat (${name} memory)`, text, features);
    try {
      mod.resolveNames();
      mod.validate(features);
      binaries[name] = Buffer.from(mod.toBinary({ log: false, write_debug_names: false }).buffer);
    } finally {
      mod.destroy();
    }
  }
  return binaries;
}

export function generatedModule(source, binaries) {
  const sha = createHash("sha256").update(source).digest("hex");
  return `// Generated by scripts/build-wasm.mjs from scan.wat: do not edit (npm run build:wasm -w @cobra-ts/scan).
/** sha256 of the scan.wat these binaries were assembled from. */
export const SCAN_WAT_SHA256 = "${sha}";
/** The kernels importing a shared memory (worker threads). */
export const SCAN_WASM_SHARED_BASE64 =
  "${binaries.shared.toString("base64")}";
/** The kernels importing a plain memory (no SharedArrayBuffer: browsers that are not crossOriginIsolated). */
export const SCAN_WASM_PRIVATE_BASE64 =
  "${binaries.private.toString("base64")}";
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const source = readFileSync(watPath, "utf8");
  const text = generatedModule(source, await assemble(source));
  if (process.argv.includes("--check")) {
    let current = "";
    try {
      current = readFileSync(outPath, "utf8");
    } catch {}
    if (current !== text) {
      console.error(`${outPath} is out of date with scan.wat: run npm run build:wasm -w @cobra-ts/scan`);
      process.exit(1);
    }
    console.log("scan-wasm.generated.ts is up to date");
  } else {
    writeFileSync(outPath, text);
    console.log(`wrote ${outPath}`);
  }
}

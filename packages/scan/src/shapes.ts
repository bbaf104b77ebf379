import { InvalidArgumentError } from "@cobra-ts/core";
import type {
  CausalConv1dOptions,
  F32Tensor,
  SelectiveScanOptions,
  SelectiveStateUpdateOptions,
} from "./types.js";

/** Sizes of one selectiveScan call, checked against every argument. */
export interface ScanDims {
  batch: number;
  d: number;
  L: number;
  N: number;
  /** Groups of B/C: channel c reads group floor(c / (d / groups)). 1 for B, C of shape [batch, N, L]. */
  groups: number;
}

/** Sizes of one selectiveStateUpdate call. */
export interface UpdateDims {
  batch: number;
  d: number;
  N: number;
  groups: number;
}

/** Sizes of one causalConv1d / causalConv1dUpdate call. */
export interface ConvDims {
  batch: number;
  d: number;
  /** 1 for the update. */
  L: number;
  W: number;
}

function fail(op: string, message: string): never {
  throw new InvalidArgumentError(`${op}: ${message}`);
}

function checkTensor(
  op: string,
  name: string,
  t: F32Tensor | null | undefined,
  shape: readonly number[],
): void {
  if (!t) fail(op, `${name} is required`);
  if (!(t.data instanceof Float32Array)) fail(op, `${name} must hold a Float32Array`);
  const same = t.shape.length === shape.length && t.shape.every((s, i) => s === shape[i]);
  if (!same) fail(op, `${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
  let n = 1;
  for (const s of shape) n *= s;
  if (t.data.length !== n)
    fail(op, `${name} holds ${t.data.length} values but its shape [${shape.join(", ")}] needs ${n}`);
}

function checkOptional(
  op: string,
  name: string,
  t: F32Tensor | null | undefined,
  shape: readonly number[],
): void {
  if (t != null) checkTensor(op, name, t, shape);
}

function positive(op: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) fail(op, `${what} must be a positive integer, got ${n}`);
}

/** The sizes of `t`, named `names`: its rank must be theirs and each size a positive integer. */
function sizes(
  op: string,
  name: string,
  t: F32Tensor | null | undefined,
  names: readonly string[],
): number[] {
  if (t?.shape.length !== names.length)
    fail(op, `${name} must be [${names.join(", ")}], got [${t?.shape.join(", ")}]`);
  for (const [i, n] of t.shape.entries()) positive(op, names[i], n);
  return [...t.shape];
}

/**
 * B and C, of one shape: [batch, ...perGroup], or [batch, G, ...perGroup] in G groups that divide d (a scan's
 * perGroup is [N, L], an update's [N]). Returns G.
 */
function groupsOfBC(
  op: string,
  B: F32Tensor,
  C: F32Tensor,
  batch: number,
  d: number,
  perGroup: readonly number[],
): number {
  if (!B || !C) fail(op, "B and C are required");
  const grouped = B.shape.length === perGroup.length + 2;
  const groups = grouped ? B.shape[1] : 1;
  positive(op, "the group count of B", groups);
  if (d % groups !== 0) fail(op, `d = ${d} is not divisible by the ${groups} groups of B`);
  const shape = grouped ? [batch, groups, ...perGroup] : [batch, ...perGroup];
  checkTensor(op, "B", B, shape);
  checkTensor(op, "C", C, shape);
  return groups;
}

export function scanDims(
  u: F32Tensor,
  delta: F32Tensor,
  A: F32Tensor,
  B: F32Tensor,
  C: F32Tensor,
  o: SelectiveScanOptions,
): ScanDims {
  const op = "selectiveScan";
  const [batch, d, L] = sizes(op, "u", u, ["batch", "d", "L"]);
  const [, N] = sizes(op, "A", A, ["d", "N"]);
  checkTensor(op, "u", u, [batch, d, L]);
  checkTensor(op, "delta", delta, [batch, d, L]);
  checkTensor(op, "A", A, [d, N]);
  if (B?.shape.length === 2)
    fail(op, "time-invariant B of shape [d, N] is not supported: pass it as [batch, N, L]");
  const groups = groupsOfBC(op, B, C, batch, d, [N, L]);
  checkOptional(op, "D", o.D, [d]);
  checkOptional(op, "z", o.z, [batch, d, L]);
  checkOptional(op, "deltaBias", o.deltaBias, [d]);
  checkOptional(op, "initialState", o.initialState, [batch, d, N]);
  return { batch, d, L, N, groups };
}

export function updateDims(
  state: F32Tensor,
  x: F32Tensor,
  dt: F32Tensor,
  A: F32Tensor,
  B: F32Tensor,
  C: F32Tensor,
  o: SelectiveStateUpdateOptions,
): UpdateDims {
  const op = "selectiveStateUpdate";
  const [batch, d, N] = sizes(op, "state", state, ["batch", "d", "N"]);
  checkTensor(op, "state", state, [batch, d, N]);
  checkTensor(op, "x", x, [batch, d]);
  checkTensor(op, "dt", dt, [batch, d]);
  checkTensor(op, "A", A, [d, N]);
  const groups = groupsOfBC(op, B, C, batch, d, [N]);
  checkOptional(op, "D", o.D, [d]);
  checkOptional(op, "z", o.z, [batch, d]);
  checkOptional(op, "dtBias", o.dtBias, [d]);
  return { batch, d, N, groups };
}

export function convDims(
  x: F32Tensor,
  weight: F32Tensor,
  bias: F32Tensor | null | undefined,
  o: CausalConv1dOptions,
): ConvDims {
  const op = "causalConv1d";
  const [batch, d, L] = sizes(op, "x", x, ["batch", "d", "L"]);
  const [, W] = sizes(op, "weight", weight, ["d", "W"]);
  checkTensor(op, "x", x, [batch, d, L]);
  checkTensor(op, "weight", weight, [d, W]);
  checkOptional(op, "bias", bias, [d]);
  if (o.initialState != null) {
    if (W < 2) fail(op, "initialState needs a kernel width of at least 2");
    checkTensor(op, "initialState", o.initialState, [batch, d, W - 1]);
  }
  return { batch, d, L, W };
}

export function convUpdateDims(
  convState: F32Tensor,
  x: F32Tensor,
  weight: F32Tensor,
  bias: F32Tensor | null | undefined,
): ConvDims {
  const op = "causalConv1dUpdate";
  const [batch, d, W] = sizes(op, "convState", convState, ["batch", "d", "W"]);
  checkTensor(op, "convState", convState, [batch, d, W]);
  checkTensor(op, "x", x, [batch, d]);
  checkTensor(op, "weight", weight, [d, W]);
  checkOptional(op, "bias", bias, [d]);
  return { batch, d, L: 1, W };
}

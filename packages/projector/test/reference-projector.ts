/**
 * A plain TypeScript projector, written straight from the official `cobra/util/nn_utils.py` modules (float64
 * accumulation), as the oracle for the variants the fixture has no weights for. Test-only.
 */
import { gelu as geluScalar } from "@cobra-ts/core/testing";
import type { ProjectorVariant } from "../src/variants.js";

type Weights = Record<string, Float32Array>;

/** Token-major activations of one image: [tokens, channels]. */
interface Tokens {
  data: Float64Array;
  tokens: number;
  channels: number;
}

/** features: [batch, tokens, D] row-major; returns [batch, P, d] row-major. */
export function referenceProject(
  variant: ProjectorVariant,
  w: Weights,
  features: Float32Array,
  batch: number,
  tokens: number,
): Float32Array {
  const D = features.length / batch / tokens;
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const x: Tokens = {
      data: Float64Array.from(features.subarray(b * tokens * D, (b + 1) * tokens * D)),
      tokens,
      channels: D,
    };
    out.push(...projectOne(variant, w, x).data);
  }
  return Float32Array.from(out);
}

function projectOne(variant: ProjectorVariant, w: Weights, x: Tokens): Tokens {
  const lin = (t: Tokens, name: string) => linear(t, w[`${name}.weight`], w[`${name}.bias`]);
  switch (variant) {
    case "linear": // LinearProjector: self.projector = nn.Linear
      return lin(x, "projector");
    case "gelu-mlp": // MLPProjector: Linear GELU Linear
      return lin(gelu(lin(x, "projector.0")), "projector.2");
    case "fused-gelu-mlp": // FusedMLPProjector: Linear(D,4D) GELU Linear(4D,d) GELU Linear(d,d)
      return lin(gelu(lin(gelu(lin(x, "projector.0")), "projector.2")), "projector.4");
    case "ldpnet":
    case "fused-ldpnet": {
      // (Fused)LDPProjector: Linear GELU Linear, TokenDownLayer((14,14)), PosInjectLayer
      const mlp = lin(gelu(lin(x, "projector.0")), "projector.2");
      const pooled = adaptiveAvgPool(mlp, 14);
      return posInject(pooled, w["projector.4.peg.0.weight"], w["projector.4.peg.0.bias"]);
    }
  }
}

function linear(x: Tokens, weight: Float32Array, bias: Float32Array): Tokens {
  const out = bias.length;
  const data = new Float64Array(x.tokens * out);
  for (let t = 0; t < x.tokens; t++)
    for (let o = 0; o < out; o++) {
      let s = bias[o];
      for (let i = 0; i < x.channels; i++) s += weight[o * x.channels + i] * x.data[t * x.channels + i];
      data[t * out + o] = s;
    }
  return { data, tokens: x.tokens, channels: out };
}

function gelu(x: Tokens): Tokens {
  return { ...x, data: x.data.map(geluScalar) };
}

/** AdaptiveAvgPool2d on the sqrt(N) x sqrt(N) grid: bin i = [floor(i*n/m), ceil((i+1)*n/m)). */
function adaptiveAvgPool(x: Tokens, m: number): Tokens {
  const n = Math.round(Math.sqrt(x.tokens));
  const c = x.channels;
  const data = new Float64Array(m * m * c);
  for (let oy = 0; oy < m; oy++)
    for (let ox = 0; ox < m; ox++) {
      const y0 = Math.floor((oy * n) / m);
      const y1 = Math.ceil(((oy + 1) * n) / m);
      const x0 = Math.floor((ox * n) / m);
      const x1 = Math.ceil(((ox + 1) * n) / m);
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += x.data[(y * n + xx) * c + ch];
        data[(oy * m + ox) * c + ch] = s / ((y1 - y0) * (x1 - x0));
      }
    }
  return { data, tokens: m * m, channels: c };
}

/** PosInjectLayer: depthwise Conv2d(c, c, 3, stride 1, padding 1, groups=c) on the grid, plus the input. */
function posInject(x: Tokens, weight: Float32Array, bias: Float32Array): Tokens {
  const n = Math.round(Math.sqrt(x.tokens));
  const c = x.channels;
  const data = new Float64Array(x.data.length);
  for (let y = 0; y < n; y++)
    for (let xx = 0; xx < n; xx++)
      for (let ch = 0; ch < c; ch++) {
        let s = bias[ch];
        for (let ky = 0; ky < 3; ky++)
          for (let kx = 0; kx < 3; kx++) {
            const sy = y + ky - 1;
            const sx = xx + kx - 1;
            if (sy >= 0 && sy < n && sx >= 0 && sx < n)
              s += weight[ch * 9 + ky * 3 + kx] * x.data[(sy * n + sx) * c + ch];
          }
        data[(y * n + xx) * c + ch] = s + x.data[(y * n + xx) * c + ch];
      }
  return { data, tokens: x.tokens, channels: c };
}

import { readFileSync } from "node:fs";
import { createSession, GraphBuilder, getOrt, SafetensorsFile, serializeModel } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE, maxAbsDiff } from "../test-support/fixture.js";
import { emitDeltaSoftplus, emitSelectiveScan } from "./selective-scan-emitter.js";

interface ScanCase {
  kind: string;
  case: string;
  shapes: Record<string, number[] | null>;
  flags: { z: boolean; D: boolean; delta_bias: boolean; delta_softplus: boolean; return_last_state: boolean };
}
const CASES = (JSON.parse(readFileSync(`${FIXTURE}expected/scan.json`, "utf8")).cases as ScanCase[]).filter(
  (c) => c.kind === "selective_scan_ref",
);

let vectors: SafetensorsFile;
beforeAll(async () => {
  vectors = await SafetensorsFile.open(`${FIXTURE}expected/scan.safetensors`);
});
afterAll(() => vectors?.close());

/** A graph taking selective_scan_ref's arguments in its layout (u, delta [b, d, l]; B, C [b, n, l]). */
function refLayoutGraph(c: ScanCase, output: "inside" | "after"): GraphBuilder {
  const g = new GraphBuilder(c.case);
  const [b, d, l] = c.shapes.u!;
  const n = c.shapes.A![1];
  const toBLx = (v: string) => g.op("Transpose", [v], { perm: [0, 2, 1] });
  const u = toBLx(g.input("u", "float32", [b, d, l]));
  let delta = toBLx(g.input("delta", "float32", [b, d, l]));
  if (c.flags.delta_bias) delta = g.op("Add", [delta, g.input("delta_bias", "float32", [d])]);
  if (c.flags.delta_softplus) delta = emitDeltaSoftplus(g, delta);
  const scan = emitSelectiveScan(
    g,
    {
      x: u,
      dt: delta,
      A: g.input("A", "float32", [d, n]),
      B: toBLx(g.input("B", "float32", [b, n, l])),
      C: toBLx(g.input("C", "float32", [b, n, l])),
      D: c.flags.D ? g.input("D", "float32", [d]) : undefined,
      z: c.flags.z ? toBLx(g.input("z", "float32", [b, d, l])) : undefined,
      state: g.constFloat(new Float32Array(b * d * n), [b, d, n]),
    },
    { output },
  );
  g.output(g.op("Transpose", [scan.y], { perm: [0, 2, 1] }), "float32", [b, d, l], "out");
  g.output(scan.stateOut, "float32", [b, d, n], "last_state");
  return g;
}

describe("emitSelectiveScan vs mamba_ssm selective_scan_ref (fixture scan vectors)", () => {
  for (const output of ["after", "inside"] as const)
    it.each(CASES.map((c) => [c.case, c] as const))(`y computed ${output} the Scan: %s`, async (_name, c) => {
      const ort = await getOrt();
      const session = await createSession(serializeModel(refLayoutGraph(c, output)));
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const name of ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"]) {
        const shape = c.shapes[name];
        if (shape)
          feeds[name] = new ort.Tensor(
            "float32",
            (await vectors.read(`scan/${c.case}/${name}`)).data as Float32Array,
            shape,
          );
      }
      const result = await session.run(feeds);
      await session.release();
      const check = async (name: string) => {
        const ref = (await vectors.read(`scan/${c.case}/${name}`)).data as Float32Array;
        const scale = Math.max(1, ...Array.from(ref, Math.abs));
        expect(maxAbsDiff(result[name].data as Float32Array, ref) / scale).toBeLessThan(1e-5);
      };
      await check("out");
      if (c.flags.return_last_state) await check("last_state");
    });
});

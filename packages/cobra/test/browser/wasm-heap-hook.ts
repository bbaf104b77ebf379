import type { Page } from "playwright-core";

/**
 * A page script (openChromiumPage's initScript) that keeps every WebAssembly.Memory the page makes or
 * instantiates, so that a test can read how big onnxruntime-web's heap grew: a wasm32 memory only grows, so its
 * size after a load is the most that load needed at once (and the 4 GB address space is the hard limit).
 * `wasmHeapBytes()` in the page: each memory's current byteLength, in creation order.
 */
export const WASM_HEAP_HOOK = `(() => {
  const memories = [];
  const Memory = WebAssembly.Memory;
  const keep = (instance) => {
    for (const value of Object.values(instance.exports)) if (value instanceof Memory) memories.push(value);
  };
  WebAssembly.Memory = new Proxy(Memory, {
    construct(target, args, newTarget) {
      const memory = Reflect.construct(target, args, newTarget);
      memories.push(memory);
      return memory;
    },
  });
  for (const name of ["instantiate", "instantiateStreaming"]) {
    const original = WebAssembly[name];
    WebAssembly[name] = async function (...args) {
      const result = await original.apply(this, args);
      keep(result.instance ?? result);
      return result;
    };
  }
  globalThis.wasmHeapBytes = () => [...new Set(memories)].map((m) => m.buffer.byteLength);
})();`;

export interface LmHeapUse {
  /** The largest WebAssembly memory of the page after the LM loaded, and after a prefill and a step. */
  afterLoad: number;
  afterStep: number;
  loadMs: number;
  /** The decode step's time (the first: shaders compile on it too). */
  stepMs: number;
  /** The argmax of the step's logits (the same model on another backend should agree). */
  token: number;
}

/**
 * In a page opened with WASM_HEAP_HOOK: loads the LM part of the model folder served under `folder` (e.g.
 * "/m/") through the browser entry on `backend`, runs a 4-id prefill and one step, releases it, and says how
 * big onnxruntime-web's heap was.
 */
export function measureLmHeap(page: Page, folder: string, backend: "wasm" | "webgpu"): Promise<LmHeapUse> {
  return page.evaluate(
    async ({ folder, backend }) => {
      // biome-ignore lint/suspicious/noExplicitAny: the bundled entry and the hook on window
      const w = window as any;
      const { loadModelParts, urlReader, BROWSER_PART_LOADERS, ortFor } = w.cobra;
      const ort = await ortFor({ backend });
      ort.env.wasm.wasmPaths = "/ort/";
      const heap = () => Math.max(0, ...w.wasmHeapBytes());
      const t0 = performance.now();
      const { parts } = await loadModelParts(urlReader(`${location.origin}${folder}`), {
        loaders: BROWSER_PART_LOADERS,
        backend,
        defaultBackend: "wasm",
        parts: { encoder: {}, projector: {} }, // only the LM
        runtimeFor: async (_part: string, backend: string) => ({ backend, ort }),
      });
      const loadMs = performance.now() - t0;
      const afterLoad = heap();
      const argmax = (t: { data: Float32Array }) =>
        t.data.reduce((best, v, k, a) => (v > a[best] ? k : best), 0);
      const out = await parts.lm.prefill({ ids: [[1, 2, 3, 4]] });
      const t1 = performance.now();
      const step = await parts.lm.step(argmax(out.logits), out.state);
      const stepMs = performance.now() - t1;
      const afterStep = heap();
      await parts.lm.release();
      return { afterLoad, afterStep, loadMs, stepMs, token: argmax(step.logits) };
    },
    { folder, backend },
  );
}

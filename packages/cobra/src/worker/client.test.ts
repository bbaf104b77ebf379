import { CobraError, InvalidArgumentError, ModelFormatError } from "@cobra-ts/core";
import { describe, expect, it } from "vitest";
import { CobraWorkerClient, errorFromWorker, type WorkerLike } from "./client.js";
import { CobraWorkerHost } from "./host.js";
import type { WorkerEvent, WorkerRequest } from "./protocol.js";
import { FakeServer, fakeCobra, manifestFor } from "./test-support/fakes.js";

const BASE = "https://models.test/m/";
const FILES = { "lm.onnx": "graph" };

/** A worker running the model layer in the same thread, delivering messages asynchronously like a real one. */
class InProcessWorker implements WorkerLike {
  readonly #message: ((event: MessageEvent<WorkerEvent>) => void)[] = [];
  readonly #error: ((event: ErrorEvent) => void)[] = [];
  readonly host: CobraWorkerHost;
  readonly cobra: ReturnType<typeof fakeCobra>;

  constructor(answer: string[]) {
    this.cobra = fakeCobra(answer);
    const server = new FakeServer(BASE, { ...FILES, "cobra.json": manifestFor(FILES) });
    this.host = new CobraWorkerHost({
      loadCobra: this.cobra.loadCobra,
      emit: (data) =>
        queueMicrotask(() => {
          for (const l of this.#message) l({ data } as MessageEvent<WorkerEvent>);
        }),
      wasmPaths: "/ort/",
      crossOriginIsolated: false,
      logicalCores: 1,
      fetch: server.fetch,
      openCache: async () => null,
      progressIntervalMs: 0,
    });
  }

  postMessage(message: WorkerRequest): void {
    void this.host.handle(message);
  }

  addEventListener(type: "message" | "error", listener: (event: never) => void): void {
    if (type === "message") this.#message.push(listener as (event: MessageEvent<WorkerEvent>) => void);
    else this.#error.push(listener as (event: ErrorEvent) => void);
  }

  crash(message: string): void {
    for (const l of this.#error) l({ message, preventDefault() {} } as ErrorEvent);
  }

  terminate(): void {}
}

describe("CobraWorkerClient", () => {
  it("passes the scan form to the worker's Cobra.load, and refuses an unknown one on the page", async () => {
    const worker = new InProcessWorker([]);
    const client = new CobraWorkerClient(worker);
    await client.load({ kind: "url", url: BASE }, "wasm", {}, { scan: "kernel" }).done;
    await client.load({ kind: "url", url: BASE }, "webgpu").done;
    expect(worker.cobra.calls.map((c) => [c.backend, c.scan])).toEqual([
      ["wasm", "kernel"],
      ["webgpu", undefined],
    ]);
    expect(() => client.load({ kind: "url", url: BASE }, "wasm", {}, { scan: "gpu" as never })).toThrow(
      InvalidArgumentError,
    );
  });

  it("loads, encodes an image and streams an answer", async () => {
    const client = new CobraWorkerClient(new InProcessWorker(["a", "b", "c"]));
    const progress: number[] = [];
    const notices: string[] = [];
    const info = await client.load({ kind: "url", url: BASE }, "wasm", {
      progress: (p) => progress.push(p.loaded),
      notice: (m) => notices.push(m),
    }).done;
    expect(info).toMatchObject({ backend: "wasm", fileCount: 1, crossOriginIsolated: false, cached: false });
    expect(progress.at(-1)).toBe(5);
    expect(notices).toHaveLength(1); // no Cache API in this fake
    expect(typeof (await client.look(new Blob(["img"])).done)).toBe("number");
    let text = "";
    const answer = await client.ask("?", 8, (delta) => (text += delta)).done;
    expect(text).toBe("abc");
    expect(answer).toMatchObject({ aborted: false, stats: { tokens: 3 } });
  });

  it("rejects with the worker's error name", async () => {
    const client = new CobraWorkerClient(new InProcessWorker([]));
    await expect(client.look(new Blob([])).done).rejects.toMatchObject({
      name: "InvalidArgumentError",
      message: "Load a model before adding an image.",
    });
  });

  it("fails every pending request, and later ones, when the worker dies", async () => {
    const worker = new InProcessWorker([]);
    const client = new CobraWorkerClient(worker);
    const pending = client.load({ kind: "url", url: BASE }, "wasm").done;
    worker.crash("Failed to fetch dynamically imported module");
    await expect(pending).rejects.toThrow(/model worker stopped: Failed to fetch/);
    await expect(client.look(new Blob([])).done).rejects.toThrow(/model worker stopped/);
  });

  it("rebuilds the worker's typed errors as the same core classes, and releases", async () => {
    const client = new CobraWorkerClient(new InProcessWorker(["a"]));
    const refused = await client.look(new Blob([])).done.catch((e) => e);
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect(refused).toBeInstanceOf(CobraError);
    const unknown = errorFromWorker({ name: "UnknownPartKindError", message: "no loader" });
    expect(unknown).toBeInstanceOf(ModelFormatError);
    expect(unknown.name).toBe("UnknownPartKindError");
    expect(errorFromWorker({ name: "TypeError", message: "x" })).not.toBeInstanceOf(CobraError);
    await client.load({ kind: "url", url: BASE }, "wasm").done;
    await client.release().done;
    await expect(client.look(new Blob([])).done).rejects.toThrow("Load a model before adding an image.");
  });
});

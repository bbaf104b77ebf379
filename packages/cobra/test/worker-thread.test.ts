// @cobra-ts/cobra/worker end to end: the host runs in a real worker thread (test/worker-thread-host.mjs, the
// built entry), the page-side client talks to it by messages: load with progress, look, streamed answers equal
// to the oracle's, abort, typed errors across the boundary, release.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { AbortError, ModelFormatError } from "@cobra-ts/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertRelease } from "../src/convert/convert.js";
import { CobraWorkerClient, type FileProgress, type WorkerLike } from "../src/worker.js";
import { CASES, imagePath, RELEASE_SOURCES } from "./fixture.js";

let work = "";
const files: { path: string; blob: Blob }[] = [];
let thread: Worker;
let client: CobraWorkerClient;

/** A worker_threads Worker seen as the Web Worker the client expects. */
function asWebWorker(worker: Worker): WorkerLike {
  return {
    postMessage: (message) => worker.postMessage(message),
    addEventListener: (type: "message" | "error", listener: (event: never) => void) => {
      if (type === "message") worker.on("message", (data) => listener({ data } as never));
      else worker.on("error", (error) => listener({ message: error.message, preventDefault() {} } as never));
    },
    terminate: () => void worker.terminate(),
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cobra-worker-"));
  const model = join(work, "model");
  await convertRelease(RELEASE_SOURCES, { out: model });
  for (const path of await readdir(model))
    files.push({ path, blob: new Blob([await readFile(join(model, path))]) });
  // The built entry, as a web app gets it: not the `source` condition this test process resolves with.
  thread = new Worker(new URL("./worker-thread-host.mjs", import.meta.url), { execArgv: [] });
  client = new CobraWorkerClient(asWebWorker(thread));
});
afterAll(async () => {
  client?.dispose();
  await thread?.terminate();
  await rm(work, { recursive: true, force: true });
});

const single = CASES.find((c) => c.turns.length === 1)!;

describe("@cobra-ts/cobra/worker in a worker thread", () => {
  it("loads with per-file progress, then answers a question with the oracle's text, token by token", async () => {
    const progress: FileProgress[] = [];
    const info = await client.load({ kind: "files", files }, "wasm", { progress: (p) => progress.push(p) })
      .done;
    expect(info).toMatchObject({ backend: "wasm", from: "folder", cached: false, modelId: "cobra+3b" });
    expect(info.fileCount).toBe(files.length - 1); // every file but cobra.json itself
    expect(new Set(progress.map((p) => p.file))).toEqual(
      new Set(files.map((f) => f.path).filter((p) => p !== "cobra.json")),
    );
    const image = new Blob([await readFile(imagePath(single.image))]);
    expect(await client.look(image).done).toBeGreaterThan(0);
    const deltas: string[] = [];
    const answer = await client.ask(single.user_message, single.max_new_tokens, (d) => deltas.push(d)).done;
    expect(answer.aborted).toBe(false);
    expect(deltas.join("")).toBe(single.greedy_text);
    expect(answer.history).toEqual([
      { role: "user", text: single.user_message },
      { role: "assistant", text: single.greedy_text },
    ]);
    expect(answer.droppedTurns).toBe(0);
  });

  it("stops a request when asked to: a queued question fails with AbortError, the image is kept", async () => {
    const image = new Blob([await readFile(imagePath(single.image))]);
    const look = client.look(image);
    const ask = client.ask(single.user_message, single.max_new_tokens, () => {});
    client.abort(ask.id);
    await look.done;
    const stopped = await ask.done.catch((e) => e);
    expect(stopped).toBeInstanceOf(AbortError);
    const again = await client.ask(single.user_message, single.max_new_tokens, () => {}).done;
    expect(again.history.at(-1)?.text).toBe(single.greedy_text);
  });

  it("rethrows the worker's typed errors as the same classes, and releases the model", async () => {
    const manifest = JSON.parse(await files.find((f) => f.path === "cobra.json")!.blob.text());
    manifest.parts.projector.kind = "mlp-9000";
    const broken = files.map((f) =>
      f.path === "cobra.json" ? { path: f.path, blob: new Blob([JSON.stringify(manifest)]) } : f,
    );
    const failed = await client.load({ kind: "files", files: broken }, "wasm").done.catch((e) => e);
    expect(failed).toBeInstanceOf(ModelFormatError);
    expect(failed.name).toBe("UnknownPartKindError");
    expect(failed.message).toMatch(/no loader for part kind "mlp-9000".*@cobra-ts\/projector/);

    await client.load({ kind: "files", files }, "wasm").done;
    await client.release().done;
    await expect(client.look(new Blob([])).done).rejects.toThrow("Load a model before adding an image.");
  });
});

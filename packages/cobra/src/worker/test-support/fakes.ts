/** Stand-ins for the browser cache, a model server and Cobra, for unit tests in Node. */
import { createHash } from "node:crypto";
import type { PartDtype, PartSlot } from "@cobra-ts/core";
import { type CobraManifest, manifestFiles, parseManifest } from "../../manifest.js";
import type {
  AnswerChunk,
  ChatTurn,
  CobraChat,
  LoadCobra,
  LoadedCobra,
  ManifestFile,
} from "../loaded-cobra.js";
import type { CacheLike } from "../model-cache.js";

/** A Cache API stand-in; `quota` bytes make `put` fail like a full disk. */
export class FakeCache implements CacheLike {
  readonly entries = new Map<string, Uint8Array>();
  constructor(public quota = Number.POSITIVE_INFINITY) {}

  async match(request: string): Promise<Response | undefined> {
    const body = this.entries.get(request);
    return body ? new Response(body.slice()) : undefined;
  }

  async put(request: string, response: Response): Promise<void> {
    const body = new Uint8Array(await response.arrayBuffer());
    const used = [...this.entries.values()].reduce((sum, b) => sum + b.byteLength, 0);
    if (used + body.byteLength > this.quota) throw new DOMException("quota exceeded", "QuotaExceededError");
    this.entries.set(request, body);
  }

  async delete(request: string): Promise<boolean> {
    return this.entries.delete(request);
  }

  async keys(): Promise<{ url: string }[]> {
    return [...this.entries.keys()].map((url) => ({ url }));
  }
}

/** A model folder served over a fake `fetch`, in small chunks, counting requests per URL. */
export class FakeServer {
  readonly files = new Map<string, Uint8Array>();
  readonly requests: string[] = [];

  constructor(
    readonly base: string,
    files: Record<string, string | Uint8Array>,
    readonly chunkSize = 4,
  ) {
    for (const [path, body] of Object.entries(files))
      this.files.set(
        new URL(path, base).href,
        typeof body === "string" ? new TextEncoder().encode(body) : body,
      );
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = input instanceof URL ? input.href : typeof input === "string" ? input : input.url;
    this.requests.push(url);
    init?.signal?.throwIfAborted();
    const body = this.files.get(url);
    if (!body) return new Response("not found", { status: 404 });
    const chunkSize = this.chunkSize;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (init?.signal?.aborted) return controller.error(init.signal.reason);
        if (offset >= body.byteLength) return controller.close();
        controller.enqueue(body.slice(offset, offset + chunkSize));
        offset += chunkSize;
      },
    });
    return new Response(stream, { headers: { "content-length": String(body.byteLength) } });
  };

  /** Requests other than for cobra.json. */
  fileRequests(): string[] {
    return this.requests.filter((u) => !u.endsWith("/cobra.json"));
  }
}

export const shaOf = (body: string) => createHash("sha256").update(body).digest("hex");

/**
 * A format-3 cobra.json listing `files` (path -> body) as parts of one fake kind: one part per slot of `dtypes`
 * (each lists every file, stored at that dtype; none recorded where it is undefined), an fp32 LM by default.
 */
export function manifestFor(
  files: Record<string, string>,
  modelId = "cobra-fake",
  dtypes: Partial<Record<PartSlot, PartDtype | undefined>> = { lm: "fp32" },
): string {
  const list: ManifestFile[] = Object.entries(files).map(([path, body]) => ({
    path,
    size: new TextEncoder().encode(body).byteLength,
    sha256: shaOf(body),
  }));
  const parts = Object.fromEntries(
    Object.entries(dtypes).map(([slot, dtype]) => [slot, { kind: "fake", files: list, config: {}, dtype }]),
  );
  return JSON.stringify({ format: "cobra-ts", formatVersion: 3, modelId, parts, source: {} });
}

/** A Cobra that reads every file like the real one and answers with scripted chunks. */
export function fakeCobra(
  answer: string[],
  options: { lookDelayMs?: number; microtasksOnly?: boolean; maxPairs?: number } = {},
) {
  const calls: { source: unknown; backend: string; scan?: string; wasmPaths?: string }[] = [];
  const released = { count: 0 };
  const loadCobra: LoadCobra = async (source, opts) => {
    calls.push({ source, backend: opts.backend, scan: opts.scan, wasmPaths: opts.wasmPaths });
    let manifest: CobraManifest;
    if (typeof source === "string") {
      const doFetch = opts.fetch ?? fetch;
      manifest = parseManifest(
        await (await doFetch(new URL("cobra.json", source).href)).text(),
        "cobra.json",
      );
      for (const f of manifestFiles(manifest)) {
        const response = await doFetch(new URL(f.path, source).href);
        if (!response.ok) throw new Error(`${f.path}: HTTP ${response.status}`);
        await response.arrayBuffer();
      }
    } else {
      const blob = source.get("cobra.json");
      if (!blob) throw new Error("no cobra.json");
      manifest = parseManifest(await blob.text(), "cobra.json");
      opts.onProgress?.({ file: "cobra.json", loaded: blob.size, total: blob.size }); // as the real one does
      for (const f of manifestFiles(manifest))
        opts.onProgress?.({ file: f.path, loaded: f.size, total: f.size });
    }
    const model: LoadedCobra = {
      backend: opts.backend,
      manifest,
      release: async () => {
        released.count++;
      },
      async look(_image, lookOptions) {
        if (options.lookDelayMs) await new Promise((r) => setTimeout(r, options.lookDelayMs));
        lookOptions?.signal?.throwIfAborted();
        return fakeChat(
          answer,
          options.microtasksOnly ?? false,
          options.maxPairs ?? Number.POSITIVE_INFINITY,
        );
      },
    };
    return model;
  };
  return { loadCobra, calls, released };
}

/** Like Cobra's ImageSession: the history gains a turn only when its answer completes. */
/** `microtasksOnly`: never returns to the event loop between tokens, like onnxruntime-web's WASM runs. */
/** `maxPairs`: the question/answer pairs the prompt limit leaves room for before a new question. */
function fakeChat(answer: string[], microtasksOnly: boolean, maxPairs: number): CobraChat {
  const history: ChatTurn[] = [];
  return {
    history,
    dropOldestTurnsToFit() {
      const dropped = Math.max(0, history.length / 2 - maxPairs);
      history.splice(0, 2 * dropped);
      return dropped;
    },
    async *askStream(question, opts): AsyncGenerator<AnswerChunk> {
      let text = "";
      for (const [i, piece] of answer.slice(0, opts?.maxNewTokens).entries()) {
        await (microtasksOnly ? Promise.resolve() : new Promise((r) => setTimeout(r, 1)));
        opts?.signal?.throwIfAborted();
        text += piece;
        yield { text: piece, token: i + 100 };
      }
      history.push({ role: "user", text: question }, { role: "assistant", text });
    },
  };
}

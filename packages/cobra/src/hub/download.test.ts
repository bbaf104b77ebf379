import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtureSet } from "@cobra-ts/core/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { captureIO } from "../../test/capture-io.js";
import { runCli } from "../cli/run-cli.js";
import { DownloadError, downloadFile } from "./download.js";
import { resolvePart } from "./resolve.js";

const RELEASE = join(fixtureSet(), "release");
/** The hub layout served for the test: repo id -> folder in the fixture release. */
const REPOS: Record<string, string> = {
  "han1997/cobra/cobra+3b": "cobra",
  "timm/dino-tiny": "dino",
  "timm/siglip-tiny": "siglip",
  "xiuyul/mamba-tiny": "llm",
};

let server: Server;
let endpoint = "";
let cache = "";
const requests: { url: string; range?: string }[] = [];
/** When set, the next response for this path stops after this many bytes (a dropped connection). */
let cutOnce: { path: string; bytes: number } | null = null;

function localFile(url: string): string | null {
  const m = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(decodeURIComponent(url));
  if (!m) return null;
  for (const [id, folder] of Object.entries(REPOS)) {
    const [owner, name, ...sub] = id.split("/");
    const prefix = sub.length ? `${sub.join("/")}/` : "";
    if (`${owner}/${name}` === m[1] && m[2].startsWith(prefix))
      return join(RELEASE, folder, m[2].slice(prefix.length));
  }
  return null;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    requests.push({ url: req.url!, range: req.headers.range });
    if (req.url!.includes("/fail-500/")) return res.writeHead(500).end("internal error");
    const file = localFile(req.url!);
    const body = file ? await readFile(file).catch(() => null) : null;
    if (!body) return res.writeHead(404).end("not found");
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, { "content-length": slice.length });
    if (cutOnce && file!.endsWith(cutOnce.path)) {
      const n = cutOnce.bytes;
      cutOnce = null;
      res.write(slice.subarray(0, n), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.HF_ENDPOINT = endpoint;
});

afterAll(async () => {
  delete process.env.HF_ENDPOINT;
  await new Promise((r) => server.close(r));
});

beforeEach(async () => {
  if (cache) await rm(cache, { recursive: true, force: true });
  cache = await mkdtemp(join(tmpdir(), "cobra-hub-"));
  requests.length = 0;
});

const sha = async (p: string) =>
  createHash("sha256")
    .update(await readFile(p))
    .digest("hex");

describe("hub download", () => {
  it("downloads every part of a release from the configured endpoint into the cache", async () => {
    const progress: number[] = [];
    const opts = { cacheDir: cache, onProgress: (p: { loaded: number }) => progress.push(p.loaded) };
    const ckpt = await resolvePart("checkpoint", "han1997/cobra/cobra+3b", opts);
    const dino = await resolvePart("dino", "timm/dino-tiny", opts);
    const siglip = await resolvePart("siglip", "timm/siglip-tiny", opts);
    const llm = await resolvePart("llm", "xiuyul/mamba-tiny", opts);
    expect(await sha(join(ckpt, "checkpoints/latest-checkpoint.pt"))).toBe(
      await sha(join(RELEASE, "cobra/checkpoints/latest-checkpoint.pt")),
    );
    expect(await sha(join(dino, "model.safetensors"))).toBe(
      await sha(join(RELEASE, "dino/model.safetensors")),
    );
    // open_clip or timm-native, whichever the release has: every file of it arrives unchanged.
    for (const file of await readdir(join(RELEASE, "siglip")))
      expect(await sha(join(siglip, file))).toBe(await sha(join(RELEASE, "siglip", file)));
    expect(await sha(join(llm, "tokenizer.json"))).toBe(await sha(join(RELEASE, "llm/tokenizer.json")));
    expect(progress.length).toBeGreaterThan(0);
    // A second resolve is served from the cache without any request.
    const before = requests.length;
    await resolvePart("dino", "timm/dino-tiny", opts);
    expect(requests.length).toBe(before);
  });

  it("reports a dropped connection as an interrupted download, and keeps what arrived to resume", async () => {
    cutOnce = { path: "latest-checkpoint.pt", bytes: 100_000 };
    await expect(
      downloadFile("han1997/cobra", "cobra+3b/checkpoints/latest-checkpoint.pt", { cacheDir: cache }),
    ).rejects.toThrow(DownloadError);
    const part = join(cache, "han1997/cobra/main/cobra+3b/checkpoints/latest-checkpoint.pt.part");
    expect((await stat(part)).size).toBe(100_000);
    const local = await downloadFile("han1997/cobra", "cobra+3b/checkpoints/latest-checkpoint.pt", {
      cacheDir: cache,
    });
    expect(requests.at(-1)?.range).toBe("bytes=100000-");
    expect(await sha(local)).toBe(await sha(join(RELEASE, "cobra/checkpoints/latest-checkpoint.pt")));
  });

  it("resumes from the .part file of an interrupted run with a Range request", async () => {
    const original = await readFile(join(RELEASE, "cobra/checkpoints/latest-checkpoint.pt"));
    const dir = join(cache, "han1997/cobra/main/cobra+3b/checkpoints");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "latest-checkpoint.pt.part"), original.subarray(0, 123_456));
    const local = await downloadFile("han1997/cobra", "cobra+3b/checkpoints/latest-checkpoint.pt", {
      cacheDir: cache,
    });
    expect(requests.map((r) => r.range)).toEqual(["bytes=123456-"]);
    expect(await sha(local)).toBe(await sha(join(RELEASE, "cobra/checkpoints/latest-checkpoint.pt")));
  });

  it("reports a missing file as a DownloadError naming the repo and file", async () => {
    await expect(downloadFile("timm/dino-tiny", "nope.bin", { cacheDir: cache })).rejects.toThrow(
      DownloadError,
    );
    await expect(downloadFile("timm/dino-tiny", "nope.bin", { cacheDir: cache })).rejects.toThrow(
      /timm\/dino-tiny has no file nope.bin/,
    );
    expect(await readdir(cache, { recursive: true })).toEqual([]);
  });

  it("cobra convert takes hub ids: downloads into the cache, then converts", async () => {
    const out = join(cache, "converted");
    const io = {
      out: "",
      err: "",
      isTTY: false,
      stdin: process.stdin,
      stdout: () => {},
      stderr: (t: string) => void (io.err += t),
    };
    process.env.COBRA_CACHE = join(cache, "hub");
    try {
      const argv = [
        "convert",
        "--checkpoint",
        "han1997/cobra/cobra+3b",
        "--dino",
        "timm/dino-tiny",
        "--siglip",
        "timm/siglip-tiny",
      ];
      const code = await runCli([...argv, "--llm", "xiuyul/mamba-tiny", "--out", out], io);
      expect(io.err).toMatch(/converted to/);
      expect(code).toBe(0);
    } finally {
      delete process.env.COBRA_CACHE;
    }
    const manifest = JSON.parse(await readFile(join(out, "cobra.json"), "utf8"));
    expect(manifest.parts.lm.files.map((f: { path: string }) => f.path)).toContain("lm.onnx");
    expect(requests.length).toBeGreaterThanOrEqual(8);
  });

  it("uses a local folder as it is", async () => {
    const dir = join(cache, "local");
    await mkdir(dir);
    await writeFile(join(dir, "config.json"), "{}");
    expect(await resolvePart("dino", dir)).toBe(dir);
    expect(requests).toHaveLength(0);
  });
});

/** An endpoint on 127.0.0.1 where nothing listens: every connection is refused. */
async function refusingEndpoint(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return `http://127.0.0.1:${port}`;
}

describe("a failed download leaves nothing behind in the cache", () => {
  const tree = () => readdir(cache, { recursive: true });
  const ckpt = ["han1997/cobra", "cobra+3b/checkpoints/latest-checkpoint.pt"] as const;

  it("the hub refuses the connection", async () => {
    process.env.HF_ENDPOINT = await refusingEndpoint();
    try {
      await expect(downloadFile(...ckpt, { cacheDir: cache })).rejects.toThrow(/cannot reach/);
    } finally {
      process.env.HF_ENDPOINT = endpoint;
    }
    expect(await tree()).toEqual([]);
  });

  it("the hub answers HTTP 500", async () => {
    await expect(downloadFile("fail-500/repo", "deep/er/file.bin", { cacheDir: cache })).rejects.toThrow(
      /HTTP 500/,
    );
    expect(await tree()).toEqual([]);
  });

  it("the connection drops before the first byte", async () => {
    cutOnce = { path: "latest-checkpoint.pt", bytes: 0 };
    await expect(downloadFile(...ckpt, { cacheDir: cache })).rejects.toThrow(DownloadError);
    expect(await tree()).toEqual([]);
  });

  it("a folder the cache already had is kept", async () => {
    await mkdir(join(cache, "han1997/cobra/main/other"), { recursive: true });
    cutOnce = { path: "latest-checkpoint.pt", bytes: 0 };
    await expect(downloadFile(...ckpt, { cacheDir: cache })).rejects.toThrow(DownloadError);
    expect((await tree()).sort()).toEqual([
      "han1997",
      "han1997/cobra",
      "han1997/cobra/main",
      "han1997/cobra/main/other",
    ]);
  });

  it("cobra convert --release cobra+3b offline: a DownloadError, no cache tree, no output folder", async () => {
    const io = captureIO();
    const hub = join(cache, "hub");
    const out = join(cache, "out");
    process.env.HF_ENDPOINT = await refusingEndpoint();
    process.env.COBRA_CACHE = hub;
    try {
      expect(await runCli(["convert", "--release", "cobra+3b", "--out", out], io)).toBe(1);
    } finally {
      process.env.HF_ENDPOINT = endpoint;
      delete process.env.COBRA_CACHE;
    }
    expect(io.err).toMatch(/^cobra: DownloadError: cannot reach http:\/\/127\.0\.0\.1:\d+\/han1997\/cobra\//);
    expect(await tree()).toEqual([]);
  });
});

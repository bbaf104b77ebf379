import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import OpenAI from "openai";
import { convertRelease } from "../src/convert/convert.js";
import { Cobra } from "../src/runtime/load-node.js";
import { CobraServer, type ServedModel, type ServeOptions } from "../src/serve/server.js";
import { type FixtureCase, imagePath, RELEASE_SOURCES } from "./fixture.js";

/** The fixture model converted once per test file, loaded in-process. */
export async function convertedTinyModel(): Promise<{
  dir: string;
  cobra: Cobra;
  cleanup: () => Promise<void>;
}> {
  const work = await mkdtemp(join(tmpdir(), "cobra-serve-"));
  const dir = join(work, "cobra-tiny");
  await convertRelease(RELEASE_SOURCES, { out: dir });
  const cobra = await Cobra.load(dir);
  return {
    dir,
    cobra,
    cleanup: async () => {
      await cobra.release();
      await rm(work, { recursive: true, force: true });
    },
  };
}

export const SERVE_DEFAULTS: ServeOptions = {
  modelId: "cobra-tiny",
  maxBatch: 8,
  maxQueue: 16,
  stateCacheMb: 64,
  prefillChunk: 256,
  maxBodyBytes: 8 * 2 ** 20,
  defaultMaxTokens: 24,
  maxTokensLimit: 100_000, // the tests' long-running answers
  images: { allowRemote: false, maxBytes: 4 * 2 ** 20, remoteTimeoutMs: 2000 },
};

/** A server on 127.0.0.1 on a free port, and an official OpenAI client pointed at it (no retries). */
export async function startServer(
  cobra: Cobra,
  options: Partial<ServeOptions> = {},
  model: ServedModel = cobra,
) {
  const server = new CobraServer({ ...SERVE_DEFAULTS, ...options });
  await server.setModel(model);
  const { port } = await server.listen("127.0.0.1", 0);
  const url = `http://127.0.0.1:${port}`;
  const client = (apiKey = options.apiKey ?? "none") =>
    new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
  return { server, url, client: client(), clientWith: client, close: () => server.close(0) };
}

export function dataUrl(file: string): string {
  const type = extname(file) === ".jpg" ? "image/jpeg" : "image/png";
  return `data:${type};base64,${readFileSync(file).toString("base64")}`;
}

/** A fixture case as OpenAI chat messages: the image as a data URL in the first user message. */
export function caseMessages(c: FixtureCase): OpenAI.Chat.ChatCompletionMessageParam[] {
  return c.turns.map((t, i) =>
    t.role === "gpt"
      ? { role: "assistant" as const, content: t.message }
      : i === 0
        ? {
            role: "user" as const,
            content: [
              { type: "image_url" as const, image_url: { url: dataUrl(imagePath(c.image)) } },
              { type: "text" as const, text: t.message },
            ],
          }
        : { role: "user" as const, content: t.message },
  );
}

/** The value of a metric line in Prometheus text (labels as written, e.g. `{result="hit"}`), 0 when absent. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

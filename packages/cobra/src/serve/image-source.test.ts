import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeBase64DataUrl, readImageUrl } from "./image-source.js";

const policy = { allowRemote: false, maxBytes: 1 << 20, remoteTimeoutMs: 1000 };

/** What Node's own fetch (undici's WHATWG data: URL processor) makes of `url`, or null when it refuses it. */
async function fetched(url: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await (await fetch(url)).arrayBuffer());
  } catch {
    return null;
  }
}

describe("decodeBase64DataUrl", () => {
  const bytes = randomBytes(1000);
  const b64 = bytes.toString("base64");
  const cases: [string, string][] = [
    ["plain", `data:image/png;base64,${b64}`],
    ["empty payload", "data:image/png;base64,"],
    ["no padding", `data:image/png;base64,${randomBytes(7).toString("base64").replace(/=+$/, "")}`],
    ["one pad", `data:image/png;base64,${randomBytes(8).toString("base64")}`],
    ["line breaks and spaces", `data:image/png;base64,${b64.replace(/(.{76})/g, "$1\r\n ")}`],
    ["percent-escaped + / =", `data:image/png;base64,${encodeURIComponent(b64)}`],
    ["a fragment", `data:image/png;base64,${b64}#frag`],
    ["mime parameters", `data:image/png;name=x.png;base64,${b64}`],
    ["a bad character", `data:image/png;base64,${b64.slice(0, 40)}*${b64.slice(41)}`],
    ["a dangling character", "data:image/png;base64,QUJD" + "R"],
    ["three pads", "data:image/png;base64,QU==="],
    ["padding inside", "data:image/png;base64,QQ==QUJD"],
    ["url-safe alphabet", "data:image/png;base64,-_-_"],
    ["a non-ASCII character", `data:image/png;base64,${b64.slice(0, 40)}é${b64.slice(40)}`],
    ["a bad character at the end", `data:image/png;base64,${b64.slice(0, -4)}QUJ*`],
    ["a whole bad quantum", `data:image/png;base64,${b64.slice(0, 40)}****${b64.slice(40)}`],
  ];
  for (const [name, url] of cases)
    it(`decodes like fetch() does: ${name}`, async () => {
      const want = await fetched(url);
      const got = decodeBase64DataUrl(url);
      if (want === null) expect(got).toBeNull();
      else expect(got && Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    });

  it("gives the original bytes", () => {
    expect(Buffer.from(decodeBase64DataUrl(`data:image/png;base64,${b64}`)!).equals(bytes)).toBe(true);
  });

  it("readImageUrl refuses a payload that is not base64 with a 400 naming the field", async () => {
    await expect(
      readImageUrl("data:image/png;base64,AB*D", policy, "messages[0].content[0]"),
    ).rejects.toMatchObject({
      status: 400,
      param: "messages[0].content[0]",
    });
  });
});

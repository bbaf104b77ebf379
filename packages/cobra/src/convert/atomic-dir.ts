import { mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Runs `fill` on a fresh temp folder beside `out` and renames it to `out` only when `fill` succeeds, so an
 * interrupted or failed run leaves no half-written model. An existing `out` is replaced only at the end.
 */
export async function writeFolderAtomically<T>(out: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  const parent = dirname(out);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(out)}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp);
  const cleanup = () => rm(tmp, { recursive: true, force: true });
  // Ctrl-C during a long conversion: remove the temp folder before exiting.
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await fill(tmp);
    const old = (await stat(out).catch(() => null))
      ? join(parent, `.${basename(out)}.old-${process.pid}`)
      : null;
    if (old) await rename(out, old);
    await rename(tmp, out);
    if (old) await rm(old, { recursive: true, force: true });
    return result;
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

import { lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { outIsFileError } from "./out-folder.js";

/**
 * Runs `fill` on a fresh temp folder beside `out` and renames it to `out` only when `fill` succeeds, so an
 * interrupted or failed run leaves no half-written model. An existing `out` folder is replaced only at the
 * end; the caller decides beforehand whether it may be (see out-folder.ts). A file is never replaced.
 */
export async function writeFolderAtomically<T>(out: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  const parent = dirname(out);
  const name = basename(out);
  await mkdir(parent, { recursive: true });
  await removeStaleTempFolders(parent, name);
  const tmp = join(parent, `.${name}.tmp-${process.pid}-${Date.now()}`);
  // maxRetries: the writer may still be adding files while a Ctrl-C removes the folder.
  const cleanup = () => rm(tmp, { recursive: true, force: true, maxRetries: 5 });
  // Ctrl-C during a long conversion: remove the temp folder before exiting.
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await mkdir(tmp);
    const result = await fill(tmp);
    const existing = await lstat(out).catch(() => null);
    if (existing && !existing.isDirectory()) throw outIsFileError(out);
    const old = existing ? join(parent, `.${name}.old-${process.pid}-${Date.now()}`) : null;
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

const TEMP_NAME = /^\.(.+)\.(?:tmp|old)-(\d+)(?:-\d+)?$/;

/**
 * Removes the temp (and set-aside) folders of `name` left by a run that was killed before it could clean up:
 * only those of this output, and only those whose process is gone, so a conversion running beside us keeps its own.
 */
async function removeStaleTempFolders(parent: string, name: string): Promise<void> {
  for (const entry of await readdir(parent).catch(() => [] as string[])) {
    const m = TEMP_NAME.exec(entry);
    if (!m || m[1] !== name || isAlive(Number(m[2]))) continue;
    await rm(join(parent, entry), { recursive: true, force: true, maxRetries: 5 });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What `npm pack` would put in a package's tarball, and what the package's manifest says it must hold. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Conditions, PublishedPackage } from "./workspace";

/** The paths `npm pack --dry-run --json` lists for the package in `dir` (relative, "/"-separated). */
export async function packedFiles(dir: string): Promise<string[]> {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const { stdout } = await promisify(execFile)(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: dir,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [report] = JSON.parse(stdout) as { files: { path: string }[] }[];
  return report.files.map((f) => f.path).sort();
}

/** Every file an `exports` entry names, through nested conditions. */
function targets(value: string | Conditions | Record<string, unknown>): string[] {
  if (typeof value === "string") return [value];
  return Object.values(value).flatMap((v) => targets(v as string | Conditions));
}

/** The files the package cannot work without: every `exports` and `bin` target, README, LICENSE, package.json. */
export function requiredFiles(pkg: PublishedPackage): string[] {
  const named = [
    ...Object.values(pkg.manifest.exports).flatMap(targets),
    ...Object.values(pkg.manifest.bin ?? {}),
  ].map((p) => p.replace(/^\.\//, ""));
  return [...new Set([...named, "README.md", "LICENSE", "package.json"])].sort();
}

/** Test code and test data: never shipped, even though it sits under src/. */
export const TEST_ONLY = [
  /\.test\.ts$/,
  /(^|\/)test-support\//,
  /(^|\/)test-(utils|helpers)\.ts$/,
  /reference-forward\.ts$/,
];

/** What a tarball may hold besides the required files: build output, the sources `source` names, bin scripts. */
const ALLOWED = [/^dist\/[\w.-]+\.(js|d\.ts|js\.map)$/, /^src\/[\w./-]+\.(ts|wat)$/, /^bin\/[\w.-]+\.js$/];

export function unexpectedFiles(files: string[], required: string[]): string[] {
  return files.filter(
    (f) => !required.includes(f) && (!ALLOWED.some((re) => re.test(f)) || TEST_ONLY.some((re) => re.test(f))),
  );
}

/** Bundles a package entry the way a browser app's bundler does, and reports every Node built-in it reaches. */
import { isBuiltin } from "node:module";
import { build, type Message } from "esbuild";

export interface BrowserBundleReport {
  /** `"fs/promises" imported by packages/core/dist/index.js:1`, one per import of a Node built-in. */
  nodeBuiltins: string[];
  /** Any other reason the bundle failed, as esbuild says it. */
  otherErrors: string[];
}

function where(message: Message): string {
  const l = message.location;
  return l ? `${l.file}:${l.line}` : "(no location)";
}

/**
 * esbuild for `platform: "browser"` resolves with the `browser`, `import` and `default` conditions and honours
 * `browser` fields that map a built-in away (to `false`); an import of a built-in that nothing maps away fails
 * to resolve. Those failures are the Node built-ins the entry reaches.
 */
export async function bundleForBrowser(entry: string, resolveDir: string): Promise<BrowserBundleReport> {
  let errors: Message[] = [];
  try {
    await build({
      stdin: { contents: `export * from ${JSON.stringify(entry)};`, resolveDir, loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
  } catch (e) {
    errors = (e as { errors?: Message[] }).errors ?? [{ text: String(e) } as Message];
  }
  const report: BrowserBundleReport = { nodeBuiltins: [], otherErrors: [] };
  for (const error of errors) {
    const name = /^Could not resolve "([^"]+)"/.exec(error.text)?.[1];
    if (name && isBuiltin(name)) report.nodeBuiltins.push(`"${name}" imported by ${where(error)}`);
    else report.otherErrors.push(`${error.text} (${where(error)})`);
  }
  return report;
}

import { ModelFormatError } from "@cobra-ts/core";
import type { Command } from "commander";
import type { FileCheck } from "../runtime/check-files.js";
import { verifyModelFolder } from "../runtime/load-parts.js";
import { nodeReader } from "../runtime/node-reader.js";
import type { CliIO } from "./io.js";
import { progressReporter } from "./progress.js";

export function verifyCommand(program: Command, io: CliIO): void {
  program
    .command("verify")
    .description("check every file of a converted model against cobra.json (size and sha256)")
    .argument("<dir>", "converted model folder")
    .action(async (dir: string) => {
      const reader = nodeReader(dir);
      const bar = progressReporter(io);
      let checks: FileCheck[];
      try {
        checks = await verifyModelFolder(reader, { onProgress: (p) => bar.update(p.file, p.done, p.total) });
      } finally {
        bar.stop();
      }
      for (const c of checks) io.stdout(c.problem ? `BAD ${c.problem}\n` : `ok  ${c.path}\n`);
      const bad = checks.filter((c) => c.problem).map((c) => c.path);
      if (bad.length)
        throw new ModelFormatError(
          `${bad.length} of ${checks.length} files of ${dir} do not match cobra.json (${bad.join(", ")}): convert the model again`,
        );
      io.stderr(`all ${checks.length} files of ${dir} match cobra.json\n`);
    });
}

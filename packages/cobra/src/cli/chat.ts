import { createInterface } from "node:readline/promises";
import type { Command, Option } from "commander";
import { Cobra } from "../runtime/load-node.js";
import { addGenerationOptions, generationSettings } from "./generate.js";
import type { CliIO } from "./io.js";

export function chatCommand(program: Command, io: CliIO, backend: () => Option): void {
  addGenerationOptions(
    program
      .command("chat")
      .description("chat about one image in the terminal (the image is encoded once; /quit or Ctrl-D ends)")
      .requiredOption("--model <dir>", "converted model folder")
      .requiredOption("--image <file>", "image file or http(s) URL")
      .addOption(backend()),
  ).action(async (opts) => {
    const cobra = await Cobra.load(opts.model, { backend: opts.backend });
    const rl = createInterface({ input: io.stdin, terminal: false });
    try {
      const session = await cobra.look(opts.image);
      io.stderr("image encoded; ask away (/quit to end)\n");
      const settings = generationSettings(opts);
      for (;;) {
        io.stderr("> ");
        const line = await rl.question("").catch(() => null);
        if (line === null || line.trim() === "/quit") break;
        if (line.trim() === "") continue;
        const controller = new AbortController();
        const onSigint = () => controller.abort();
        process.once("SIGINT", onSigint);
        try {
          for await (const chunk of session.askStream(line, { ...settings, signal: controller.signal }))
            io.stdout(chunk.text);
        } finally {
          process.off("SIGINT", onSigint);
        }
        io.stdout("\n");
      }
    } finally {
      rl.close();
      await cobra.release();
    }
  });
}

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { InvalidArgumentError } from "@cobra-ts/core";
import type { Command } from "commander";
import { formatMetrics } from "../eval/metrics-table.js";
import {
  markdownReport,
  nameRuns,
  readRun,
  reportTable,
  svgBarChart,
  textTable,
} from "../eval/report/report.js";
import { checkModelDtypes, MODEL_VARIANT_KEYS, modelVariant } from "../eval/run/model-variant.js";
import { readPredictionsFile } from "../eval/run/predictions-file.js";
import { writeFileAtomic } from "../eval/run/run-config.js";
import { runEval } from "../eval/run/run-eval.js";
import { parseVariantArgs } from "../eval/run/variant.js";
import { evalTask } from "../eval/tasks/index.js";
import { evalQueueAnswerer } from "../queue/eval-group.js";
import { Cobra, readManifest } from "../runtime/load-node.js";
import type { CliIO } from "./io.js";
import { addModelOptions, loadOptions } from "./model-options.js";
import { nonNegativeInt, positiveInt } from "./numbers.js";
import { addRedisTimeoutOption, queueConnection, queueStatusLines } from "./queue-options.js";
import { resumableRun } from "./resumable-run.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function evalCommand(program: Command, io: CliIO): void {
  const evalCmd = program
    .command("eval")
    .description("run the paper's benchmarks from their official files, scored by the official rules");

  const run = evalCmd
    .command("run")
    .description("answer a benchmark's questions (one image pass per image), then score them")
    .requiredOption("--task <task>", "vqav2, gqa, textvqa, vizwiz, pope, vsr, refcoco, refcoco+, refcocog")
    .option(
      "--split <split>",
      "the task's split (pope: random, popular, adversarial; refcoco: val, testA, ...)",
    )
    .requiredOption("--model <dir>", "converted model folder")
    .requiredOption("--data <dir>", "folder with the benchmark's official annotation files")
    .requiredOption("--images <dir>", "folder with the benchmark's images")
    .requiredOption("--out <dir>", "run folder: predictions.jsonl, metrics.json (a rerun resumes it)")
    .option("--limit <n>", "only the first n of vlm-evaluation's seeded shuffle (a slim set)", nonNegativeInt)
    .option("--seed <n>", "the shuffle's seed for --limit (vlm-evaluation's default 21)", nonNegativeInt)
    .option(
      "--variant <key=value>",
      "an ablation setting, repeatable: dtype=, dtype.lm=, resize=, backend=, backend.lm=, image_reuse=on|off, " +
        "batch=, max_new_tokens=, do_sample=, temperature=, top_k=, top_p=, repetition_penalty=, sample_seed=, " +
        "task keys (textvqa: ocr=)",
      collect,
      [],
    )
    .option(
      "--queue <url>",
      "answer through a BullMQ queue on Redis (redis://host:port[/db]): this process enqueues one job per image and collects, `cobra worker`s answer",
    );
  addRedisTimeoutOption(addModelOptions(run)).action(async (opts) => {
    const task = evalTask(opts.task);
    const variant = parseVariantArgs(opts.variant);
    const model = modelVariant(variant);
    // Before anything is read or written: a folder without the dtypes asked for is the wrong --model, and a
    // queued run's workers would load it without this check.
    if (Object.keys(model.dtypes).length > 0)
      checkModelDtypes(await readManifest(opts.model), model.dtypes, opts.model);
    const run = resumableRun(io, "eval", task.name, "questions");
    let cobra: Cobra | null = null;
    try {
      const { metrics } = await runEval({
        task,
        split: opts.split,
        dataDir: opts.data,
        imagesDir: opts.images,
        outDir: opts.out,
        model: opts.model,
        limit: opts.limit,
        seed: opts.seed,
        variant,
        callerVariantKeys: MODEL_VARIANT_KEYS,
        signal: run.signal,
        answerer: opts.queue
          ? evalQueueAnswerer({
              connection: queueConnection(opts.queue, opts),
              modelDir: opts.model,
              backend: model.backend,
              onStatus: queueStatusLines(io, "eval", "questions"),
            })
          : undefined,
        loadEngine: async () => {
          cobra = await Cobra.load(opts.model, {
            ...loadOptions(opts),
            backend: model.backend,
            resizeStrategy: model.resize,
          });
          return cobra;
        },
        onProgress: run.onProgress,
        log: run.log,
      });
      run.stopProgress();
      io.stdout(`${formatMetrics(metrics)}\n${resolve(opts.out, "metrics.json")}\n`);
    } finally {
      run.close();
      await (cobra as Cobra | null)?.release();
    }
  });

  evalCmd
    .command("score")
    .description("score a predictions file ({question_id, answer} a line) without running a model")
    .requiredOption("--task <task>", "the task the predictions answer")
    .option("--split <split>", "the task's split")
    .requiredOption("--data <dir>", "folder with the benchmark's official annotation files")
    .requiredOption("--predictions <file>", "predictions.jsonl")
    .option("--json", "print one object shaped like metrics.json")
    .action(async (opts) => {
      const task = evalTask(opts.task);
      const { predictions, tornTail } = await readPredictionsFile(opts.predictions);
      if (tornTail)
        throw new InvalidArgumentError(
          `${opts.predictions}: the last line is cut short (a run stopped mid-write): finish the run, or delete that line`,
        );
      const metrics = await task.score(predictions, { dataDir: opts.data, split: opts.split });
      io.stdout(opts.json ? `${JSON.stringify(metrics)}\n` : `${formatMetrics(metrics)}\n`);
    });

  evalCmd
    .command("report")
    .description("compare runs: a table of runs x metrics, also written as Markdown and an SVG bar chart")
    .argument("<run-dirs...>", "folders written by `cobra eval run`")
    .option("--out <dir>", "where eval-report.md and eval-report.svg go", ".")
    .action(async (dirs: string[], opts) => {
      const runs = nameRuns(await Promise.all(dirs.map(readRun)));
      const table = reportTable(runs);
      await mkdir(opts.out, { recursive: true });
      const md = join(opts.out, "eval-report.md");
      const svg = join(opts.out, "eval-report.svg");
      await writeFileAtomic(
        svg,
        svgBarChart(
          table,
          runs.map((r) => r.name),
        ),
      );
      await writeFileAtomic(md, markdownReport(runs, table, "eval-report.svg"));
      io.stdout(`${textTable(table)}\n\n${md}\n${svg}\n`);
    });

  const speed = evalCmd
    .command("speed")
    .description(
      "seconds per question with one image pass per image vs a full pass per question (GQA-shaped)",
    )
    .requiredOption("--model <dir>", "model folder (cobra convert, or cobra synth --preset cobra-3.5b)")
    .option("--images <n>", "synthetic 640x480 images", positiveInt, 2)
    .option("--per-image <n>", "questions per image (GQA testdev-balanced: about 30)", positiveInt, 30)
    .option(
      "--max-new-tokens <n>",
      "answer tokens (a random-weight model never stops by itself)",
      positiveInt,
      4,
    )
    .option("--full <n>", "questions answered again with a full pass each", positiveInt, 6)
    .option("--json", "print one JSON object");
  addModelOptions(speed).action(async (opts) => {
    // Dev-only code, loaded on use: it stays out of the runtime's import graph.
    const { measureImageReuse } = await import("../eval/speed.js");
    const workDir = await mkdtemp(join(tmpdir(), "cobra-eval-speed-"));
    const cobra = await Cobra.load(opts.model, loadOptions(opts));
    try {
      const r = await measureImageReuse({
        workDir,
        engine: cobra,
        images: opts.images,
        perImage: opts.perImage,
        maxNewTokens: opts.maxNewTokens,
        fullQuestions: opts.full,
        onStage: (s) => io.stderr(`eval speed: ${s}\n`),
      });
      io.stdout(
        opts.json
          ? `${JSON.stringify(r)}\n`
          : `image reuse: ${r.reuse.seconds_per_question.toFixed(3)} s/question (${r.reuse.questions} questions, ${r.images} images)\n` +
              `full pass:   ${r.full.seconds_per_question.toFixed(3)} s/question (${r.full.questions} questions)\n` +
              `speedup:     ${r.speedup.toFixed(1)}x; same answers: ${r.same_answers}\n`,
      );
    } finally {
      await cobra.release();
      await rm(workDir, { recursive: true, force: true });
    }
  });
}

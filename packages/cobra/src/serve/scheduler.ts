import {
  AbortError,
  type FloatRows,
  type LanguageModel,
  type LanguageModelState,
  type Tokenizer,
} from "@cobra-ts/core";
import {
  checkSequenceOptions,
  createRng,
  GeneratedSequence,
  type Rng,
  type SequenceOptions,
  type StopReason,
  type StreamChunk,
} from "@cobra-ts/mamba-lm";
import { queueFull, unavailable } from "./errors.js";
import type { ServerMetrics } from "./metrics.js";
import { batchInput, pickPrefillBatch, type Segment, segmentLength } from "./prefill-batch.js";
import type { StateCache } from "./state-cache.js";

/** One chat completion to generate: a prompt after an optional image, with its own sampling settings. */
export interface GenerationJob {
  /** The image's cache key (a hash of its bytes), "" for a chat without an image. */
  imageKey: string;
  /** The vision pass (encoder + projector): the image's LM rows [1, P, dModel]. Absent without an image. */
  encodeImage?: (signal: AbortSignal) => Promise<FloatRows>;
  /** Prompt ids after the image (the length policy already applied). */
  promptIds: number[];
  /** Length, stops and sampling, as `streamGenerate` takes them. */
  options: SequenceOptions;
  /** Seed of this request's own RNG: a seeded answer does not depend on what else runs beside it. */
  seed?: number;
  signal?: AbortSignal;
  /** Each generated token with the text that became final with it (the texts add up to `text`). */
  onChunk?: (chunk: StreamChunk) => void;
}

export interface JobResult {
  ids: number[];
  text: string;
  stopReason: StopReason;
  promptIds: number[];
  /** Prompt ids covered by a cached state (the vision pass was skipped), or null on a cache miss. */
  cachedIds: number | null;
  /** From submit to the first token. */
  ttftMs: number;
}

export interface SchedulerOptions {
  /** Most sequences holding a slot at once (prefilling or decoding): the decode batch's upper bound. */
  maxBatch: number;
  /** Most requests waiting for a slot; one more is refused with 429. */
  maxQueue: number;
  /**
   * Most positions one prefill call runs (summed over the requests it batches), so a long prompt, an image or
   * many new requests never stall the decode batch for long.
   */
  prefillChunk: number;
}

type Phase = "waiting" | "vision" | "prefill" | "decode";

/** A job holding (or waiting for) a slot. */
class Slot<S extends LanguageModelState> {
  phase: Phase = "waiting";
  visionStarted = false;
  /** Positions still to prefill: the image's rows, then the prompt ids (those a cached state covers skipped). */
  pending: Segment[] = [];
  state: S | undefined;
  nextToken = -1;
  cachedIds: number | null = null;
  firstTokenAt = 0;
  lastTokenAt = 0;
  error: unknown = null;
  readonly sequence: GeneratedSequence;
  readonly rng: Rng;
  readonly vision = new AbortController();
  readonly arrived = performance.now();

  constructor(
    readonly job: GenerationJob,
    tokenizer: Tokenizer,
    readonly resolve: (r: JobResult) => void,
    readonly reject: (e: unknown) => void,
  ) {
    const stop = checkSequenceOptions(tokenizer, job.options);
    this.sequence = new GeneratedSequence(job.promptIds, tokenizer, stop, job.options);
    this.rng = createRng(job.seed);
  }

  get aborted(): boolean {
    return this.job.signal?.aborted === true;
  }
}

/**
 * Continuous batching over any `LanguageModel`. Every running sequence advances in ONE `lm.step` per
 * decode step (their states stacked: a Mamba state is fixed-size, so stacking is a copy, never padding);
 * requests join the batch after their prefill and leave it the step they finish or their client goes away.
 * Between two decode steps one prefill call runs, of at most `prefillChunk` positions, for every waiting
 * sequence it can take at once (see prefillBatch), so a new request never stalls the others for long and n
 * requests arriving together join after one gap, not n; the vision pass runs concurrently on onnxruntime's
 * threads. Each sequence samples with its own RNG from its own logits row, so its answer is the one it gets
 * alone (chunked and batched prefills and batched steps give the same numbers: the scan walks positions one
 * by one whatever the chunks, and each row's recurrence is computed on its own).
 */
export class Scheduler<S extends LanguageModelState = LanguageModelState> {
  private readonly waiting: Slot<S>[] = [];
  /** Admitted, before decoding: waiting for or running the vision pass, or prefilling. */
  private readonly starting: Slot<S>[] = [];
  /** Decoding, in the row order of `batchState`. */
  private running: Slot<S>[] = [];
  private batchState: S | null = null;
  private looping = false;
  private visionBusy = false;
  private wake: (() => void) | null = null;
  private woken = false;
  private closed = false;
  private cutReason: string | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly lm: LanguageModel<S>,
    private readonly tokenizer: Tokenizer,
    private readonly cache: StateCache<S>,
    private readonly options: SchedulerOptions,
    private readonly metrics?: ServerMetrics,
  ) {}

  /** Sequences holding a slot (prefilling or decoding). */
  get active(): number {
    return this.starting.length + this.running.length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Queues a job; resolves with its result when it finishes. Throws (synchronously, before any work) 429 when
   * the queue is full and 503 once the server is shutting down; a bad option rejects like `streamGenerate`.
   */
  submit(job: GenerationJob): Promise<JobResult> {
    if (this.closed) throw unavailable("the server is shutting down");
    const free = Math.max(0, this.options.maxBatch - this.active);
    if (this.waiting.length >= this.options.maxQueue + free) throw queueFull(1);
    return new Promise<JobResult>((resolve, reject) => {
      const slot = new Slot<S>(job, this.tokenizer, resolve, reject);
      this.waiting.push(slot);
      job.signal?.addEventListener("abort", () => this.notify(), { once: true });
      this.updateGauges();
      this.notify();
      if (!this.looping) {
        this.looping = true;
        void this.loop();
      }
    });
  }

  /**
   * Stops taking jobs, lets running ones finish for up to `graceMs`, then cuts the rest (they reject with
   * AbortError) and resolves once the loop has stopped.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.looping) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.whenIdle(),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.looping) {
      this.cutReason = "the server is shutting down";
      this.notify();
      await this.whenIdle();
    }
  }

  private whenIdle(): Promise<void> {
    return this.looping ? new Promise((r) => this.idleWaiters.push(r)) : Promise.resolve();
  }

  private notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    try {
      while (this.waiting.length + this.active > 0) {
        this.woken = false;
        let worked = true;
        try {
          this.dropAborted();
          this.admit();
          this.startVision();
          const prefilled = await this.prefillBatch();
          worked = (await this.decodeStep()) || prefilled;
        } catch (e) {
          // A failure outside one request's own calls (stacking states, say): every job in flight fails
          // with it, and the server goes on serving the next ones.
          this.failAll(e);
        }
        if (!worked && !this.woken && this.waiting.length + this.active > 0)
          await new Promise<void>((r) => {
            this.wake = r;
          });
        this.wake = null;
      }
    } finally {
      this.looping = false;
      this.updateGauges();
      for (const r of this.idleWaiters.splice(0)) r();
    }
  }

  /** Removes jobs whose client went away (or that the shutdown cuts) wherever they are; frees their slots. */
  private dropAborted(): void {
    const gone = (s: Slot<S>) => s.aborted || this.cutReason !== null;
    const fail = (s: Slot<S>) => {
      this.metrics?.aborted.inc();
      s.vision.abort();
      s.reject(new AbortError(this.cutReason ?? "the client went away"));
    };
    for (const list of [this.waiting, this.starting])
      for (let i = list.length - 1; i >= 0; i--)
        if (gone(list[i])) {
          fail(list[i]);
          list.splice(i, 1);
        }
    if (this.running.some(gone)) {
      for (const s of this.running.filter(gone)) fail(s);
      this.keepRows(this.running.map((s, i) => (gone(s) ? -1 : i)).filter((i) => i >= 0));
    }
    this.updateGauges();
  }

  private failAll(error: unknown): void {
    for (const slot of [...this.waiting, ...this.starting, ...this.running]) {
      slot.vision.abort();
      slot.reject(error);
    }
    this.waiting.length = 0;
    this.starting.length = 0;
    this.running = [];
    this.batchState = null;
    this.updateGauges();
  }

  /** Keeps these rows of the decode batch (indices into `running`), in order. */
  private keepRows(rows: number[]): void {
    if (rows.length === this.running.length) return;
    this.batchState = rows.length > 0 && this.batchState ? this.lm.selectRows(this.batchState, rows) : null;
    this.running = rows.map((i) => this.running[i]);
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.active < this.options.maxBatch) {
      const slot = this.waiting.shift()!;
      this.starting.push(slot);
      const { imageKey, promptIds, encodeImage } = slot.job;
      const hit = this.cache.lookup(imageKey, promptIds);
      if (encodeImage) this.metrics?.cacheLookups.inc({ result: hit ? "hit" : "miss" });
      if (hit) {
        slot.cachedIds = hit.ids.length;
        slot.state = hit.state;
        slot.pending = idSegment(promptIds, hit.ids.length);
        slot.phase = "prefill";
      } else if (encodeImage) {
        slot.phase = "vision";
      } else {
        slot.pending = idSegment(promptIds, 0);
        slot.phase = "prefill";
      }
    }
    this.updateGauges();
  }

  /** Starts the vision pass of the first slot that needs one (one at a time: it is the heaviest call). */
  private startVision(): void {
    if (this.visionBusy) return;
    const slot = this.starting.find((s) => s.phase === "vision" && !s.visionStarted);
    if (!slot?.job.encodeImage) return;
    slot.visionStarted = true;
    this.visionBusy = true;
    const encode = slot.job.encodeImage;
    void (async () => {
      try {
        const rows = await encode(slot.vision.signal);
        slot.pending = [{ rows, at: 0 }, ...idSegment(slot.job.promptIds, 0)];
      } catch (e) {
        slot.error = e; // reported by prefillBatch, as the request's own error (an undecodable image: 400)
      }
      slot.phase = "prefill";
      this.visionBusy = false;
      this.notify();
    })();
  }

  /**
   * Runs one batched prefill call between two decode steps: the oldest slot with positions to run and the other
   * slots whose next positions are of the same kind (image rows or ids) and at least as many, each advancing
   * by the same number of positions (a batch's rows share one length; a recurrent state cannot be padded). The
   * length is the one that runs the most positions in all, within `prefillChunk` positions for the call
   * (rows x length), so the decode batch waits no longer than for one chunk of the old one-slot prefill, and
   * n waiting prompts cost one call instead of n (the weights are read once for all of them). A slot whose
   * prefill ends joins the decode batch.
   */
  private async prefillBatch(): Promise<boolean> {
    for (const slot of this.starting)
      if (slot.phase === "prefill" && slot.error === null && slot.pending.length === 0)
        slot.error = new Error("a job reached prefill with nothing to run");
    // A request's own failure before its prefill (an undecodable image) is its error alone.
    const failed = this.starting.filter((s) => s.phase === "prefill" && s.error !== null);
    for (const slot of failed) {
      this.remove(this.starting, slot);
      if (!slot.aborted) slot.reject(slot.error);
    }
    const ready = this.starting.filter((s) => s.phase === "prefill");
    if (ready.length === 0) return failed.length > 0;
    const { length, slots } = pickPrefillBatch(ready, this.options.prefillChunk);
    const states = slots.map((s) => s.state ?? this.lm.newState(1));
    let output: Awaited<ReturnType<LanguageModel<S>["prefill"]>>;
    try {
      const inputs = slots.map((s) => s.pending[0]);
      output = await this.lm.prefill(
        batchInput(inputs, length),
        states.length === 1 ? states[0] : this.lm.stackStates(states),
      );
    } catch (e) {
      for (const slot of slots) {
        this.remove(this.starting, slot);
        slot.reject(e);
      }
      return true;
    }
    this.metrics?.prefilledTokens.inc(length * slots.length);
    const vocab = output.logits.shape[1];
    const joined: S[] = [];
    for (const [row, slot] of slots.entries()) {
      const state = slots.length === 1 ? output.state : this.lm.selectRows(output.state, [row]);
      if (this.advance(slot, length, state)) continue;
      this.remove(this.starting, slot);
      this.emit(slot, output.logits.data.subarray(row * vocab, (row + 1) * vocab));
      if (slot.sequence.done) this.finish(slot, state);
      else {
        this.running.push(slot);
        joined.push(state);
      }
    }
    const parts = this.batchState ? [this.batchState, ...joined] : joined;
    if (parts.length > 0) this.batchState = parts.length === 1 ? parts[0] : this.lm.stackStates(parts);
    this.updateGauges();
    return true;
  }

  /**
   * Moves a slot past `length` positions of its next segment, now in `state`, and keeps the states that serve
   * follow-ups (after the image: a new question; after the prompt: the next turn). True while positions remain.
   */
  private advance(slot: Slot<S>, length: number, state: S): boolean {
    slot.state = state;
    const head = slot.pending[0];
    head.at += length;
    if (head.at < segmentLength(head)) return true;
    slot.pending.shift();
    const { imageKey, promptIds } = slot.job;
    if ("rows" in head) this.cache.set(imageKey, [], state);
    if (slot.pending.length > 0) return true;
    if (imageKey !== "" || promptIds.length > 0) this.cache.set(imageKey, promptIds, state);
    return false;
  }

  /** One `lm.step` for every running sequence; finished ones leave the batch. */
  private async decodeStep(): Promise<boolean> {
    if (this.running.length === 0 || !this.batchState) return false;
    const ids = this.running.map((s) => s.nextToken);
    this.metrics?.batchSize.observe(ids.length);
    let output: Awaited<ReturnType<LanguageModel<S>["step"]>>;
    try {
      output = await this.lm.step(ids, this.batchState);
    } catch (e) {
      for (const s of this.running) s.reject(e);
      this.running = [];
      this.batchState = null;
      return true;
    }
    this.batchState = output.state;
    const vocab = output.logits.shape[1];
    const keep: number[] = [];
    for (const [row, slot] of this.running.entries()) {
      this.emit(slot, output.logits.data.subarray(row * vocab, (row + 1) * vocab));
      if (slot.sequence.done) this.finish(slot, this.lm.selectRows(output.state, [row]));
      else keep.push(row);
    }
    this.keepRows(keep);
    this.updateGauges();
    return true;
  }

  /** Samples the slot's next token from its logits row and hands it to the listener. */
  private emit(slot: Slot<S>, logits: Float32Array): void {
    const chunk = slot.sequence.next(logits, slot.rng);
    slot.nextToken = chunk.token;
    const now = performance.now();
    if (slot.firstTokenAt === 0) {
      slot.firstTokenAt = now;
      this.metrics?.ttft.observe((now - slot.arrived) / 1000);
    } else this.metrics?.interToken.observe((now - slot.lastTokenAt) / 1000);
    slot.lastTokenAt = now;
    this.metrics?.generatedTokens.inc();
    try {
      slot.job.onChunk?.(chunk);
    } catch {
      // A listener's failure (a closed socket) is its request's problem; the batch goes on.
    }
  }

  /** Resolves a finished slot and keeps its final state for the conversation's next turn. */
  private finish(slot: Slot<S>, state: S): void {
    const { ids } = slot.sequence;
    // The state has consumed the prompt and every generated id but the last (which was sampled, not run).
    if (ids.length > 1)
      this.cache.set(slot.job.imageKey, [...slot.job.promptIds, ...ids.slice(0, -1)], state);
    this.metrics?.promptTokens.inc(slot.job.promptIds.length);
    slot.resolve({
      ids,
      text: slot.sequence.finalText,
      stopReason: slot.sequence.stopReason!,
      promptIds: slot.job.promptIds,
      cachedIds: slot.cachedIds,
      ttftMs: slot.firstTokenAt - slot.arrived,
    });
  }

  private remove(list: Slot<S>[], slot: Slot<S>): void {
    const i = list.indexOf(slot);
    if (i >= 0) list.splice(i, 1);
  }

  private updateGauges(): void {
    this.metrics?.queueDepth.set(this.waiting.length);
    this.metrics?.running.set(this.active);
    this.metrics?.cacheBytes.set(this.cache.bytes);
  }
}

/** The prompt ids from `from` on, as a segment to prefill (none when a cached state covers them all). */
function idSegment(ids: readonly number[], from: number): Segment[] {
  return from < ids.length ? [{ ids, at: from }] : [];
}

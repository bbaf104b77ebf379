import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The server's Prometheus metrics (prom-client, one registry per server so tests and embedders can run
 * several). Names follow Prometheus conventions: counters end in _total, durations are in seconds.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "cobra_requests_total",
    help: "HTTP requests answered, by route and status code",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: "cobra_state_cache_lookups_total",
    help: "Image-state cache lookups, by result (hit skips the vision pass and the cached prefix)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly aborted = this.counter(
    "cobra_requests_aborted_total",
    "Generations stopped because the client went away (or the server shut down)",
  );
  readonly promptTokens = this.counter(
    "cobra_prompt_tokens_total",
    "Prompt token ids of answered requests (image rows not counted)",
  );
  readonly prefilledTokens = this.counter(
    "cobra_prefill_tokens_total",
    "Positions run through the LM in prefills (image rows included; cached prefixes skipped)",
  );
  readonly generatedTokens = this.counter("cobra_generated_tokens_total", "Tokens generated");
  readonly queueDepth = this.gauge("cobra_queue_depth", "Requests waiting for a batch slot");
  readonly running = this.gauge(
    "cobra_running_sequences",
    "Sequences holding a batch slot (prefilling or decoding)",
  );
  readonly cacheBytes = this.gauge(
    "cobra_state_cache_bytes",
    "Bytes of LM states held by the image-state cache",
  );
  readonly batchSize = this.histogram(
    "cobra_decode_batch_size",
    "Sequences stepped together in one decode step",
    [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
  );
  readonly ttft = this.histogram(
    "cobra_time_to_first_token_seconds",
    "From a request's arrival to its first generated token",
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  readonly interToken = this.histogram(
    "cobra_time_per_output_token_seconds",
    "Time between consecutive generated tokens of one sequence",
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  private histogram(name: string, help: string, buckets: number[]): Histogram {
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }
}

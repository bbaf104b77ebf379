import type { ScanForm } from "@cobra-ts/core";

/** The figures `cobra bench` reports; null where the part does not exist (an LM-only model has no image). */
export interface BenchReport {
  model: string;
  kind: "cobra" | "lm";
  synth_preset: string | null;
  /** Each part's dtype (fp32, fp16, q8, q4, q4f16); null for a part the model does not have. */
  dtypes: { vision: string | null; projector: string | null; lm: string | null };
  backend: string;
  threads: number | null;
  /** Where the LM's scans ran as asked (--scan); null: the model's own form (cobra.json's, else "graph"). */
  scan: ScanForm | null;
  /** LM weight bytes: what each decoded token reads. */
  weight_bytes: number;
  /** Every weight loaded (vision + projector + LM for a whole Cobra). */
  model_weight_bytes: number;
  bandwidth_gb_s: number;
  bandwidth_one_thread_gb_s: number;
  bandwidth_threads: number;
  gemm_gflops: number;
  gemm_size: number;
  load_ms: number;
  image_encode_ms: number | null;
  prefill_positions: number;
  prefix_rows: number;
  prompt_tokens: number;
  prefill_ms: number;
  prefill_tokens_per_s: number;
  /** prefill_tokens_per_s over what the GEMM throughput allows for the LM's matmul FLOPs. */
  prefill_gemm_fraction: number;
  prefill_gemm_limit_tokens_per_s: number;
  decode_tokens: number;
  decode_tokens_per_s: number;
  decode_tokens_per_s_median: number;
  decode_ms_per_token_median: number;
  /** decode_tokens_per_s over bandwidth / weight_bytes. */
  decode_bandwidth_fraction: number;
  decode_bandwidth_limit_tokens_per_s: number;
  ttft_ms: number;
  /** Process high-water mark (load included), before the machine probes allocate their buffers. */
  peak_rss_bytes: number;
  peak_rss_weight_ratio: number;
  decode_rss_max_bytes: number;
  /** RSS at the end of the decode minus RSS at token 16 (window minimums after a full GC: see timeDecode). */
  rss_growth_bytes: number | null;
  rss_after_gc: boolean;
  machine: {
    cpus: number;
    cpu_model: string;
    memory_bytes: number;
    node: string;
    onnxruntime: string | null;
    loadavg_1m_start: number;
    loadavg_1m_end: number;
  };
  date: string;
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;
const pct = (f: number) => `${(100 * f).toFixed(0)}%`;
const num = (x: number, digits = 1) => x.toFixed(digits);

/** "vision q8, projector fp32, lm q4" (the parts the model has). */
const describeDtypes = (d: BenchReport["dtypes"]) =>
  (["vision", "projector", "lm"] as const)
    .filter((part) => d[part] !== null)
    .map((part) => `${part} ${d[part]}`)
    .join(", ");

/** The human-readable report: each speed next to the limit it is measured against. */
export function formatReport(r: BenchReport): string {
  const lines = [
    `model         ${r.model} (${r.kind}${r.synth_preset ? `, synthetic ${r.synth_preset}` : ""}; ${describeDtypes(r.dtypes)}): LM weights ${gb(r.weight_bytes)}, all weights ${gb(r.model_weight_bytes)}`,
    `machine       ${r.machine.cpu_model}, ${r.machine.cpus} cpus, load average ${num(r.machine.loadavg_1m_start, 2)} -> ${num(r.machine.loadavg_1m_end, 2)}`,
    `limits        read bandwidth ${num(r.bandwidth_gb_s)} GB/s (${r.bandwidth_threads} threads; 1 thread ${num(r.bandwidth_one_thread_gb_s)}), fp32 GEMM ${num(r.gemm_gflops, 0)} GFLOP/s (${r.gemm_size}^3, onnxruntime ${r.backend})`,
    `load          ${num(r.load_ms / 1000, 2)} s${r.scan ? ` (scans in the ${r.scan})` : ""}`,
  ];
  if (r.image_encode_ms !== null)
    lines.push(`image encode  ${num(r.image_encode_ms, 0)} ms (both towers + projector)`);
  lines.push(
    `prefill       ${r.prefill_positions} positions (${r.prefix_rows} image rows + ${r.prompt_tokens} prompt tokens) in ${num(r.prefill_ms, 0)} ms: ${num(r.prefill_tokens_per_s)} tok/s = ${pct(r.prefill_gemm_fraction)} of the GEMM limit (${num(r.prefill_gemm_limit_tokens_per_s)} tok/s)`,
    `first token   ${num(r.ttft_ms, 0)} ms`,
    `decode        ${r.decode_tokens} tokens: ${num(r.decode_tokens_per_s, 2)} tok/s = ${pct(r.decode_bandwidth_fraction)} of the bandwidth limit (${num(r.decode_bandwidth_limit_tokens_per_s, 2)} tok/s); median ${num(r.decode_ms_per_token_median, 1)} ms/token`,
    `memory        peak RSS ${gb(r.peak_rss_bytes)} = ${num(r.peak_rss_weight_ratio, 2)}x the weights; decode max ${gb(r.decode_rss_max_bytes)}; growth token 16 -> ${r.decode_tokens}: ${r.rss_growth_bytes === null ? "n/a" : `${num(r.rss_growth_bytes / 2 ** 20)} MiB`}`,
  );
  return `${lines.join("\n")}\n`;
}

/** The sizes a recurrent state and the graph's inputs are made of, read off the loaded graph. */
export interface LanguageModelDims {
  nLayer: number;
  dModel: number;
  dInner: number;
  /** Conv inputs carried per channel: d_conv - 1. */
  convWidth: number;
  dState: number;
  /** Logits per position: the padded vocabulary (every id below it is a valid input). */
  vocabSize: number;
}

export function sameDims(a: LanguageModelDims, b: LanguageModelDims): boolean {
  return (
    a.nLayer === b.nLayer &&
    a.dModel === b.dModel &&
    a.dInner === b.dInner &&
    a.convWidth === b.convWidth &&
    a.dState === b.dState &&
    a.vocabSize === b.vocabSize
  );
}

export function describeDims(d: LanguageModelDims): string {
  return `n_layer ${d.nLayer}, d_inner ${d.dInner}, conv ${d.convWidth}, d_state ${d.dState}`;
}

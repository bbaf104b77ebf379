/**
 * A byte-level BPE tokenizer.json with no merges: `<|endoftext|>` (id 0, as in GPT-NeoX) and one token per
 * byte. It has the real tokenizer's structure, so every loader and the chat prompt work on a synthetic model
 * without shipping GPT-NeoX's 2.4 MB vocabulary; texts just cost one token per byte.
 */
export function byteLevelTokenizerJson(): Record<string, unknown> {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true };
  const vocab: Record<string, number> = { "<|endoftext|>": 0 };
  byteAlphabet().forEach((ch, b) => {
    vocab[ch] = b + 1;
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 0,
        special: true,
        content: "<|endoftext|>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
    ],
    normalizer: { type: "NFC" },
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      vocab,
      merges: [],
    },
  };
}

/** tokenizer_config.json as mamba-2.8b-zephyr's: `<|endoftext|>` is bos = eos = pad = unk. */
export function byteLevelTokenizerConfig(): Record<string, unknown> {
  const eot = "<|endoftext|>";
  return {
    add_prefix_space: false,
    bos_token: eot,
    eos_token: eot,
    pad_token: eot,
    unk_token: eot,
    clean_up_tokenization_spaces: true,
    tokenizer_class: "GPTNeoXTokenizer",
  };
}

/** GPT-2's printable stand-in for each byte 0..255 (bytes that are not printable are shifted to U+0100...). */
function byteAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  let shifted = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + shifted++));
}

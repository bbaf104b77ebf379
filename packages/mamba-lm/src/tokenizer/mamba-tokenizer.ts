import { ConfigError, InvalidArgumentError } from "@cobra-ts/core";
import { Tokenizer } from "@huggingface/tokenizers";
import { tokenToBytes } from "./byte-level.js";
import { cleanUpTokenizationSpaces } from "./clean-up.js";
import { TokenStreamDecoder } from "./stream-decoder.js";

export interface DecodeOptions {
  /** Leave out special tokens (`<|endoftext|>`, `<|padding|>`). Default false, as in transformers. */
  skipSpecialTokens?: boolean;
  /** transformers' `clean_up_tokenization_spaces`. Default: what tokenizer_config.json sets (else true). */
  cleanUpTokenizationSpaces?: boolean;
}

/** The parsed (or raw JSON text of) `tokenizer.json` and `tokenizer_config.json`. */
export type TokenizerJson = string | Record<string, unknown>;

/** The `<|endoftext|>` token of GPT-NeoX: bos = eos = pad = unk for mamba-2.8b-zephyr. */
const DEFAULT_EOS_TOKEN = "<|endoftext|>";

/**
 * The GPT-NeoX byte-level BPE tokenizer of Mamba LMs, behaving like transformers' GPTNeoXTokenizerFast as Cobra
 * calls it. Encoding is delegated to @huggingface/tokenizers; decoding is done here because transformers drops
 * ids that have no token (the embedding's padding rows 50277..50279) and decodes all bytes in one pass.
 */
export class MambaTokenizer {
  readonly eosTokenId: number;
  /** Number of ids with a token (len(tokenizer) in transformers); larger ids are dropped when decoding. */
  readonly vocabSize: number;
  /** Default of `DecodeOptions.cleanUpTokenizationSpaces`, from tokenizer_config.json. */
  readonly cleanUpTokenizationSpaces: boolean;
  private readonly specialIds: ReadonlySet<number>;
  private readonly bytesCache = new Map<number, Uint8Array | null>();

  private constructor(
    private readonly inner: Tokenizer,
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
  ) {
    this.vocabSize = countIds(tokenizerJson);
    this.specialIds = collectSpecialIds(inner, config);
    this.cleanUpTokenizationSpaces = readCleanUpFlag(config);
    const eosToken = tokenContent(config.eos_token) ?? DEFAULT_EOS_TOKEN;
    const eosTokenId = inner.token_to_id(eosToken);
    if (eosTokenId === undefined) {
      throw new ConfigError(
        `tokenizer_config.json: eos_token ${JSON.stringify(eosToken)} is not in the vocabulary`,
      );
    }
    this.eosTokenId = eosTokenId;
  }

  /** Builds the tokenizer from `tokenizer.json` and, optionally, `tokenizer_config.json` contents. */
  static fromJSON(tokenizerJson: TokenizerJson, tokenizerConfig?: TokenizerJson): MambaTokenizer {
    const json = parseObject(tokenizerJson, "tokenizer.json");
    const config = tokenizerConfig === undefined ? {} : parseObject(tokenizerConfig, "tokenizer_config.json");
    let inner: Tokenizer;
    try {
      inner = new Tokenizer(json, config);
    } catch (cause) {
      throw new ConfigError(`tokenizer.json: cannot build the tokenizer (${String(cause)})`, { cause });
    }
    return new MambaTokenizer(inner, json, config);
  }

  /** Token ids of `text`, with no BOS/EOS added; special tokens written in the text are recognized. */
  encode(text: string): number[] {
    if (typeof text !== "string") throw new InvalidArgumentError("encode: text must be a string");
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of `ids` as transformers decodes it (before Cobra's final `.strip()`). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skipSpecialTokens = options.skipSpecialTokens ?? false;
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf(ids[i], skipSpecialTokens);
      if (bytes === null) continue;
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    // All bytes at once, invalid sequences -> U+FFFD (maximal subparts, as Rust's from_utf8_lossy).
    const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(all);
    const cleanUp = options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces;
    return cleanUp ? cleanUpTokenizationSpaces(text) : text;
  }

  /** A decoder that turns ids into text deltas one id at a time (see TokenStreamDecoder). */
  createStreamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    return new TokenStreamDecoder((id) => this.bytesOf(id, options.skipSpecialTokens ?? false), {
      cleanUpTokenizationSpaces: options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces,
    });
  }

  /** The token string of `id` (byte-level alphabet), or undefined if the id has none. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Bytes an id contributes to decoded text; null when it is dropped (no token, or a skipped special). */
  private bytesOf(id: number, skipSpecialTokens: boolean): Uint8Array | null {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new InvalidArgumentError(`decode: token ids must be non-negative integers, got ${id}`);
    }
    if (skipSpecialTokens && this.specialIds.has(id)) return null;
    let bytes = this.bytesCache.get(id);
    if (bytes === undefined) {
      const token = this.inner.id_to_token(id);
      bytes = token === undefined ? null : tokenToBytes(token);
      this.bytesCache.set(id, bytes);
    }
    return bytes;
  }
}

function parseObject(value: TokenizerJson, file: string): Record<string, unknown> {
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch (cause) {
      throw new ConfigError(`${file}: not valid JSON (${String(cause)})`, { cause });
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`${file}: expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** 1 + the largest id of the model vocabulary and the added tokens. */
function countIds(json: Record<string, unknown>): number {
  const model = json.model as { vocab?: Record<string, number> } | undefined;
  let maxId = -1;
  for (const id of Object.values(model?.vocab ?? {})) maxId = Math.max(maxId, id);
  for (const token of (json.added_tokens ?? []) as { id: number }[]) maxId = Math.max(maxId, token.id);
  if (maxId < 0) throw new ConfigError("tokenizer.json: model.vocab is empty or missing");
  return maxId + 1;
}

/** tokenizer_config.json keys that name special tokens (transformers' SPECIAL_TOKENS_ATTRIBUTES). */
const SPECIAL_TOKEN_KEYS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "pad_token",
  "sep_token",
  "cls_token",
  "mask_token",
];

/** Special ids as transformers sees them: added tokens marked special plus the tokens named in the config. */
function collectSpecialIds(inner: Tokenizer, config: Record<string, unknown>): Set<number> {
  const ids = new Set<number>();
  for (const [id, token] of inner.get_added_tokens_decoder()) if (token.special) ids.add(id);
  const named = SPECIAL_TOKEN_KEYS.map((key) => config[key]);
  const extra = Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens : [];
  for (const entry of [...named, ...extra]) {
    const content = tokenContent(entry);
    const id = content === undefined ? undefined : inner.token_to_id(content);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

/** A config token is either its text or an AddedToken-like object with `content`. */
function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (
    entry !== null &&
    typeof entry === "object" &&
    typeof (entry as { content?: unknown }).content === "string"
  ) {
    return (entry as { content: string }).content;
  }
  return undefined;
}

function readCleanUpFlag(config: Record<string, unknown>): boolean {
  const flag = config.clean_up_tokenization_spaces;
  if (flag === undefined || flag === null) return true; // transformers 4.3x default
  if (typeof flag !== "boolean") {
    throw new ConfigError("tokenizer_config.json: clean_up_tokenization_spaces must be a boolean");
  }
  return flag;
}

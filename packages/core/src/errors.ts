/**
 * One error class per failure class. Every error names what it is about (a file, a key, an option) and,
 * where there is one, what to do about it.
 */
export class CobraError extends Error {
  override name = "CobraError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A weights/model file is malformed, truncated, tampered with or of an unexpected format. */
export class WeightsFormatError extends CobraError {
  override name = "WeightsFormatError";
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options);
  }
}

/** A pickle asked for something outside the allow-list (never executed). */
export class UnsafePickleError extends WeightsFormatError {
  override name = "UnsafePickleError";
}

/** A set of weights does not fit the architecture it is loaded into (missing/unknown key, wrong shape). */
export class WeightsMismatchError extends CobraError {
  override name = "WeightsMismatchError";
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key}: ${problem}`);
  }
}

/** A converted model folder (cobra.json manifest and its files) is missing, of another version, or corrupt. */
export class ModelFormatError extends CobraError {
  override name = "ModelFormatError";
}

/** A configuration file or object is invalid. */
export class ConfigError extends CobraError {
  override name = "ConfigError";
}

/** A caller passed an invalid option or argument. */
export class InvalidArgumentError extends CobraError {
  override name = "InvalidArgumentError";
}

/**
 * A prompt over the model's limit. The default message names the library's way out (`promptOverflow:
 * "truncate"`); surfaces without that option (the CLI, the server) show `refusal` instead. A caller with its own
 * way out (a chat dropping old turns) gives its own refusal, which is then the whole message.
 */
export class PromptTooLongError extends InvalidArgumentError {
  override name = "PromptTooLongError";
  /** By default "the prompt is N tokens, over maxPromptLength L (Cobra's llm_max_length); shorten it". */
  readonly refusal: string;
  constructor(
    readonly tokens: number,
    readonly limit: number,
    refusal?: string,
  ) {
    const plain =
      refusal ??
      `the prompt is ${tokens} tokens, over maxPromptLength ${limit} (Cobra's llm_max_length); shorten it`;
    super(refusal ?? `${plain}, or pass promptOverflow: "truncate" to cut it like the official tokenizer`);
    this.refusal = plain;
  }
}

/** An input image cannot be decoded, is too large, or is otherwise unusable. */
export class ImageDecodeError extends CobraError {
  override name = "ImageDecodeError";
}

/** The chosen execution backend cannot run on this machine (e.g. webgpu with no GPU adapter). */
export class BackendUnavailableError extends CobraError {
  override name = "BackendUnavailableError";
}

/** The operating system refused a file operation on a path the caller gave (too long, no permission, disk full). */
export class FileSystemError extends CobraError {
  override name = "FileSystemError";
}

/** A file that should exist does not. */
export class FileNotFoundError extends CobraError {
  override name = "FileNotFoundError";
  constructor(
    readonly file: string,
    what = "file",
  ) {
    super(`${what} not found: ${file}`);
  }
}

/** The operation was cancelled through an AbortSignal. */
export class AbortError extends CobraError {
  override name = "AbortError";
  constructor(message = "the operation was aborted") {
    super(message);
  }
}

/** Throws AbortError if the signal is aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

/** An optional peer dependency (onnxruntime-node, sharp...) that this call needs is not installed. */
export class MissingDependencyError extends CobraError {
  override name = "MissingDependencyError";
  constructor(
    readonly packageName: string,
    neededFor: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${neededFor} needs the optional peer dependency ${packageName}: npm install ${packageName}`,
      options,
    );
  }
}

/** Whether `e` is Node's "cannot find package/module" for the specifier `name`. */
export function isModuleNotFound(e: unknown, name: string): boolean {
  const err = e as { code?: string; message?: string };
  return (
    (err?.code === "ERR_MODULE_NOT_FOUND" || err?.code === "MODULE_NOT_FOUND") &&
    (err.message ?? "").includes(`'${name}'`)
  );
}

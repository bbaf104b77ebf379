import { type Backend, checkBackend, InvalidArgumentError } from "@cobra-ts/core";

/** The parts of a loaded model that run in onnxruntime, each on a backend of its own. */
export const RUNTIME_PARTS = ["vision", "projector", "lm"] as const;
export type RuntimePart = (typeof RUNTIME_PARTS)[number];

/** One backend per part; an absent part gets the platform's default (cpu in Node, wasm in browsers). */
export type PartBackends = Partial<Record<RuntimePart, Backend>>;

/** `backend` as Cobra.load takes it: one for every part, or one per part. */
export type BackendChoice = Backend | PartBackends;

/**
 * The backend of every part: the caller's choice, else the backend the manifest recorded for the part (`hints`),
 * else `fallback`. A bad name or an unknown part is an InvalidArgumentError naming the valid ones.
 */
export function resolvePartBackends(
  choice: BackendChoice | undefined,
  fallback: Backend,
  hints: PartBackends = {},
): Record<RuntimePart, Backend> {
  if (typeof choice === "string") {
    const one = checkBackend(choice);
    return { vision: one, projector: one, lm: one };
  }
  if (choice === undefined) choice = {};
  if (typeof choice !== "object" || choice === null || Array.isArray(choice))
    throw new InvalidArgumentError(
      `backend must be a backend name or { vision?, projector?, lm? }, got ${JSON.stringify(choice)}`,
    );
  for (const key of Object.keys(choice))
    if (!(RUNTIME_PARTS as readonly string[]).includes(key))
      throw new InvalidArgumentError(
        `backend: unknown part "${key}"; the parts are ${RUNTIME_PARTS.map((p) => `"${p}"`).join(", ")}`,
      );
  const of = (part: RuntimePart) => checkBackend(choice[part] ?? hints[part] ?? fallback, `backend.${part}`);
  return { vision: of("vision"), projector: of("projector"), lm: of("lm") };
}

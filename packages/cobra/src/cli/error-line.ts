import { type CobraError, PromptTooLongError } from "@cobra-ts/core";

/** "<ErrorName>: <message>" as the CLI prints a typed error; advice that only fits the library is left out. */
export function cliErrorLine(e: CobraError): string {
  return `${e.name}: ${e instanceof PromptTooLongError ? e.refusal : e.message}`;
}

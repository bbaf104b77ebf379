import { InvalidArgumentError as CommanderArgumentError } from "commander";

/** Parses an integer option of at least `min`; commander reports the message on one line. */
function integerOption(value: string, min: 0 | 1): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
    throw new CommanderArgumentError(
      `expected a ${min === 0 ? "non-negative" : "positive"} integer, got "${value}"`,
    );
  return n;
}

export const nonNegativeInt = (value: string): number => integerOption(value, 0);
export const positiveInt = (value: string): number => integerOption(value, 1);

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new CommanderArgumentError(`expected a number, got "${value}"`);
  return n;
}

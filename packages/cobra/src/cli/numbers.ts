import { InvalidArgumentError as CommanderArgumentError } from "commander";

/** Parses a non-negative integer option; commander reports the message on one line. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new CommanderArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

export function positiveInt(value: string): number {
  const n = nonNegativeInt(value);
  if (n === 0) throw new CommanderArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n))
    throw new CommanderArgumentError(`expected a number, got "${value}"`);
  return n;
}

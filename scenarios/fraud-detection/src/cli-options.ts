import { InvalidArgumentError, Option } from 'commander';
import { SIZES } from './generator.js';

/** `--size`, limited to the generator's sizes: a wrong one is refused with the list of choices. */
export const sizeOption = (fallback: keyof typeof SIZES) =>
  new Option('--size <size>', 'data size').choices(Object.keys(SIZES)).default(fallback);

/** A commander parser for a whole-number option; a bad value is refused with the option's name. */
export const wholeNumber = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${value}"`);
  return n;
};

import { inspect } from 'node:util';

const MASK = '***';

/**
 * A password or other credential. Every way a value usually reaches a log line (string conversion, JSON,
 * `console.log`, template literals, error messages built from settings) shows `***`; only `reveal()`, called
 * where a client is configured, returns the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect.custom](): string {
    return `Secret(${MASK})`;
  }
}

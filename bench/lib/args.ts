import { Command } from 'commander';

/** Tiny flag parser shared by the bench scripts: `--full`, `--name value`, `--name=value`, `--flag`. */
export interface BenchArgs {
  /** true with --full: README-table sizes; default is the small CI size. */
  readonly full: boolean;
  readonly flags: ReadonlyMap<string, string | true>;
  string(name: string): string | undefined;
  number(name: string, fallback: number): number;
  /** A positive integer flag whose default is `small`, or `full` with --full (the README table's size). */
  size(name: string, small: number, full: number): number;
  has(name: string): boolean;
}

export function parseArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags.set(arg.slice(2), argv[++i]!);
    else flags.set(arg.slice(2), true);
  }
  const string = (name: string) => {
    const v = flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const number = (name: string, fallback: number) => {
    const v = string(name);
    if (v === undefined) return fallback;
    const n = Number(v.replaceAll('_', ''));
    if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${v}`);
    return n;
  };
  const full = flags.has('full') || process.env['BENCH_FULL'] === '1';
  return {
    full,
    flags,
    string,
    number,
    size: (name, small, fullSize) => {
      const n = number(name, full ? fullSize : small);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${n}`);
      return n;
    },
    has: (name) => flags.has(name),
  };
}

/**
 * The command line of a bench script: `--full` and `--help` built in; each script declares its own options on it, so
 * `--help` lists them, and an unknown option or a missing value is an error (exit 1) before anything runs.
 */
export function benchCommand(name: string, description: string, environment?: string): Command {
  const command = new Command(name)
    .description(description)
    .option('--full', 'README size (BENCH_FULL=1 does the same); without it the small CI size')
    .showHelpAfterError('(run with --help for usage)');
  if (environment) command.addHelpText('after', `\nEnvironment:\n${environment}`);
  return command;
}

/** The dev stack's variables, for the scripts that need Kafka and Redis. */
export const DEV_STACK_ENVIRONMENT =
  '  KAFKA_BROKERS, REDIS_URL  the dev stack (npm run infra:up; eval "$(npm run --silent infra:status)"),\n' +
  "  with the TLS / SASL / Redis ACL variables of @rtml/connections when set (a running stack's are read when unset)";

/**
 * Validates argv against `command` (prints help and exits on --help), then reads the values as BenchArgs; a value
 * that is not a number is reported like commander's own errors (one line, exit 1), not as a stack trace.
 */
export function parseCommand(command: Command, argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  command.parse([...argv], { from: 'user' });
  const values = parseArgs(argv);
  const oneLine = <T>(read: () => T): T => {
    try {
      return read();
    } catch (error) {
      return command.error((error as Error).message);
    }
  };
  return {
    ...values,
    number: (name, fallback) => oneLine(() => values.number(name, fallback)),
    size: (name, small, full) => oneLine(() => values.size(name, small, full)),
  };
}

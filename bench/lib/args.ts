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

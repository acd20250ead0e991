/** Where outage lines go; stderr unless a caller (a test, a UI) wants them elsewhere. */
export type LineWriter = (line: string) => void;

export const writeToStderr: LineWriter = (line) => process.stderr.write(`${line}\n`);

/** The default retry-report interval: an outage is visible within seconds and costs one line per interval. */
export const REPORT_INTERVAL_MS = 10_000;

/** Writes a line of a given kind at most once per interval; a retry loop then costs one line, not dozens. */
export function throttledWriter(intervalMs: number, write: LineWriter): (kind: string, line: string) => void {
  const lastWritten = new Map<string, number>();
  return (kind, line) => {
    const now = Date.now();
    const last = lastWritten.get(kind);
    if (last !== undefined && now - last < intervalMs) return;
    lastWritten.set(kind, now);
    write(line);
  };
}

export interface ReportOptions {
  /** At most one line per kind of failure per interval; default 10 s. */
  readonly intervalMs?: number;
  readonly write?: LineWriter;
}

/** Network failures a retry can cure: the service is down, restarting or not reachable from here. */
const UNREACHABLE = new RegExp(
  [
    'ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE',
    'Connection timeout',
    'Connection error',
    'Closed connection',
    'connect to seed broker',
  ].join('|'),
  'i',
);

export function isUnreachable(text: string): boolean {
  return UNREACHABLE.test(text);
}

/** `connect ECONNREFUSED 127.0.0.1:1` out of kafkajs' and ioredis' wrappers around it. */
export function networkCause(text: string): string {
  return text.replace(
    /^(KafkaJS\w+: )?(Connection error: |Failed to connect to seed broker, trying another broker from the list: )/,
    '',
  );
}

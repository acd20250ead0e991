import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_TIME_RULE } from '@rtml/features/testing';

// The first good time is the one the probe's label joins with (entity u0).
const GOOD_TIMES = [
  '2024-05-01T12:00:00Z',
  '2024-05-01T12:00:00+05:30',
  '2024-05-01T12:00:00.123-07:00',
  '1969-12-31T23:59:59.9995Z',
];
const BAD_TIMES = [
  '2024-05-01T12:00:00',
  '2024-05-01',
  '2024-05-01T12:00:00+0530',
  '2024-05-01T12:00:00+05',
  '2024-05-01T12:00:00 America/Los_Angeles',
];
const PROBE = fileURLToPath(new URL('./testing/time-zone-probe.ts', import.meta.url));

interface ProbeOutput {
  readonly zone: string;
  readonly results: Record<string, { online: number | string; ownConnection: number | string; store: number | string }>;
}

/** The probe in a fresh process whose machine time zone (and so DuckDB's default session zone) is `zone`. */
function probeUnder(zone: string): Promise<ProbeOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', PROBE, JSON.stringify([...GOOD_TIMES, ...BAD_TIMES])],
      { env: { ...process.env, TZ: zone }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as ProbeOutput)
        : reject(new Error(`probe under TZ=${zone} exited ${code}: ${err}`)),
    );
  });
}

describe('one time rule for both paths, whatever the machine time zone', () => {
  it(
    'reads the same instants and rejects the same strings with the same text under UTC, Asia/Kolkata and ' +
      'America/Los_Angeles',
    async () => {
      const outputs = [];
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/Los_Angeles']) outputs.push(await probeUnder(zone));
      // The probes really ran in different zones (DuckDB's default session zone follows TZ) ...
      expect(outputs.map((o) => o.zone)).toEqual([
        expect.stringMatching(/UTC$/),
        'Asia/Kolkata',
        'America/Los_Angeles',
      ]);
      const [utc, ...others] = outputs.map((o) => o.results);
      // ... and printed the same results.
      for (const other of others) expect(other).toEqual(utc);
      for (const time of GOOD_TIMES) {
        const expected = Math.floor(Date.parse(time));
        expect(utc![time], time).toEqual({ online: expected, ownConnection: expected, store: expected });
      }
      for (const time of BAD_TIMES) {
        const offline = `invalid transaction event "e": eventTime: ${EVENT_TIME_RULE}, got ${time}`;
        expect(utc![time], time).toEqual({
          online: `invalid transaction event: eventTime: ${EVENT_TIME_RULE}`,
          ownConnection: offline,
          store: offline,
        });
      }
      expect(utc!['labels']).toEqual({
        label_ms: Date.UTC(2024, 4, 1, 12, 0, 1),
        feature_ms: Date.UTC(2024, 4, 1, 12, 0, 0),
      });
    },
  );
});

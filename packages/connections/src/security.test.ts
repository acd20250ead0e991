import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { explainFailure } from './errors.js';
import { kafkaSecurityConfig, redisSecurityOptions } from './security.js';
import {
  describeKafka,
  describeRedis,
  readConnectionSettings,
  readKafkaSettings,
  readRedisSettings,
} from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'rtml-connections-security-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const CA_TEXT = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';
const CA = file('ca.pem', CA_TEXT);
const CERT = file('client.pem', 'cert');
const KEY = file('client.key', 'key');
const PASSWORD = 'pa55-w0rd-from-file';
const PASSWORD_FILE = file('password', `${PASSWORD}\n`);

function problemsOf(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    return (error as Error).message.split('\n');
  }
  throw new Error('no problem reported');
}

describe('TLS and SASL settings', () => {
  it('reads a SASL_SSL Kafka and a TLS Redis with an ACL user; passwords come from files and stay masked', () => {
    const settings = readConnectionSettings({
      KAFKA_BROKERS: 'b1:9093,b2:9093',
      KAFKA_TLS_CA_FILE: CA,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'processor',
      KAFKA_SASL_PASSWORD_FILE: PASSWORD_FILE,
      REDIS_URL: 'rediss://cache:6380',
      REDIS_TLS_CA_FILE: CA,
      REDIS_TLS_CERT_FILE: CERT,
      REDIS_TLS_KEY_FILE: KEY,
      REDIS_USERNAME: 'serving',
      REDIS_PASSWORD: 'redis-direct-secret',
    });
    expect(settings.kafka).toMatchObject({
      brokers: ['b1:9093', 'b2:9093'],
      tls: { caFile: CA },
      sasl: { mechanism: 'scram-sha-512', username: 'processor' },
    });
    expect(settings.kafka.sasl?.password.reveal()).toBe(PASSWORD);
    expect(kafkaSecurityConfig(settings.kafka)).toEqual({
      ssl: { ca: [Buffer.from(CA_TEXT)] },
      sasl: { mechanism: 'scram-sha-512', username: 'processor', password: PASSWORD },
    });
    expect(redisSecurityOptions(settings.redis)).toEqual({
      tls: { ca: [Buffer.from(CA_TEXT)], cert: Buffer.from('cert'), key: Buffer.from('key') },
      username: 'serving',
      password: 'redis-direct-secret',
    });
    expect(describeKafka(settings.kafka)).toBe(
      `KAFKA_BROKERS=b1:9093,b2:9093 (TLS, CA ${CA}, SASL scram-sha-512 as processor)`,
    );
    expect(describeRedis(settings.redis)).toBe(`REDIS_URL=rediss://cache:6380 (TLS, CA ${CA}, as serving)`);
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the Secret, interpolated on purpose
    const interpolated = `${settings.kafka.sasl?.password}`;
    for (const shown of [
      JSON.stringify(settings),
      inspect(settings, { depth: 5 }),
      interpolated,
      String(settings.redis.password),
    ]) {
      expect(shown).not.toContain(PASSWORD);
      expect(shown).not.toContain('redis-direct-secret');
    }
  });

  it('KAFKA_TLS=true alone means TLS verified by the system CAs; plain settings stay as they were', () => {
    expect(readKafkaSettings({ KAFKA_BROKERS: 'b:9093', KAFKA_TLS: 'true' })).toEqual({
      brokers: ['b:9093'],
      variable: 'KAFKA_BROKERS',
      tls: {},
    });
    expect(kafkaSecurityConfig(readKafkaSettings({ KAFKA_BROKERS: 'b:9093', KAFKA_TLS: 'true' }))).toEqual({ ssl: {} });
    expect(readKafkaSettings({ KAFKA_BROKERS: 'b:9092' })).toEqual({ brokers: ['b:9092'], variable: 'KAFKA_BROKERS' });
    expect(kafkaSecurityConfig(readKafkaSettings({ KAFKA_BROKERS: 'b:9092' }))).toEqual({});
  });

  it('one line per problem, each naming its variable, never a password', () => {
    const problems = problemsOf(() =>
      readConnectionSettings({
        KAFKA_BROKERS: 'b:9093',
        KAFKA_TLS: 'maybe',
        KAFKA_TLS_CERT_FILE: CERT,
        KAFKA_SASL_MECHANISM: 'gssapi',
        KAFKA_SASL_PASSWORD: 'hunter2-direct',
        REDIS_URL: 'redis://app:hunter2-in-url@cache:6379',
        REDIS_TLS_CA_FILE: join(dir, 'missing.pem'),
        REDIS_PASSWORD: 'hunter2-direct',
      }),
    );
    expect(problems).toEqual([
      `KAFKA_TLS_CERT_FILE is set but KAFKA_TLS_KEY_FILE is not: a client certificate needs its key`,
      'KAFKA_TLS="maybe" is not a switch: expected true or false',
      'KAFKA_SASL_MECHANISM="gssapi" is not supported: expected one of plain, scram-sha-256, scram-sha-512',
      `REDIS_TLS_CA_FILE=${join(dir, 'missing.pem')} does not exist or is not readable`,
      'REDIS_PASSWORD and REDIS_URL both give a password: give it one way',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('names what is missing for a SASL mechanism, a Redis user or TLS files on a plain URL', () => {
    expect(problemsOf(() => readKafkaSettings({ KAFKA_BROKERS: 'b:9093', KAFKA_SASL_MECHANISM: 'plain' }))).toEqual([
      'KAFKA_SASL_USERNAME is not set (needed with KAFKA_SASL_MECHANISM=plain)',
      'KAFKA_SASL_PASSWORD is not set ' +
        '(needed with KAFKA_SASL_MECHANISM=plain; or KAFKA_SASL_PASSWORD_FILE naming a file)',
    ]);
    expect(
      problemsOf(() =>
        readKafkaSettings({ KAFKA_BROKERS: 'b:9093', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'x' }),
      ),
    ).toEqual([
      'KAFKA_SASL_MECHANISM is not set but Kafka credentials are: expected one of plain, scram-sha-256, scram-sha-512',
    ]);
    expect(
      problemsOf(() => readKafkaSettings({ KAFKA_BROKERS: 'b:9093', KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: CA })),
    ).toEqual([
      'KAFKA_TLS=false but TLS files are set (KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE): ' +
        'remove them or set KAFKA_TLS=true',
    ]);
    expect(
      problemsOf(() =>
        readKafkaSettings({
          KAFKA_BROKERS: 'b:9093',
          KAFKA_SASL_MECHANISM: 'plain',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: 'x',
          KAFKA_SASL_PASSWORD_FILE: PASSWORD_FILE,
        }),
      ),
    ).toEqual(['KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set: give the password one way']);
    expect(problemsOf(() => readRedisSettings({ REDIS_URL: 'redis://cache:6379', REDIS_USERNAME: 'serving' }))).toEqual(
      ['REDIS_PASSWORD is not set (needed with REDIS_USERNAME=serving)'],
    );
    expect(problemsOf(() => readRedisSettings({ REDIS_URL: 'redis://cache:6379', REDIS_TLS_CA_FILE: CA }))).toEqual([
      'REDIS_TLS_CA_FILE/REDIS_TLS_CERT_FILE are for TLS but REDIS_URL ' +
        'starts with redis:// (plain text): use rediss://',
    ]);
  });

  it("a CLI's last line for a refusal names the setting, not a stack", () => {
    const sasl = Object.assign(
      new Error(
        'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication ' +
          'due to invalid credentials with SASL mechanism SCRAM-SHA-512',
      ),
      { name: 'KafkaJSSASLAuthenticationError' },
    );
    expect(explainFailure(sasl)).toMatch(
      new RegExp(
        /^Kafka at KAFKA_BROKERS refused the credentials .*: check /.source +
          /KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM$/.source,
      ),
    );
    expect(explainFailure(new Error("NOPERM this user has no permissions to run the 'hset' command"))).toMatch(
      /^Redis at REDIS_URL denied the command \(NOPERM/,
    );
  });
});

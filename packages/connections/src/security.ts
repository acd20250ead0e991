import { accessSync, constants, readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { Secret } from './secret.js';

/**
 * TLS and SASL settings: what a managed Kafka (SASL_SSL) or Redis (TLS + ACL users) needs besides an address.
 * Read from the documented variables below or given in code; parsed here so settings.ts only gains fields.
 */

/** TLS is on when this object is present; without a CA file the system's trusted CAs verify the server. */
export interface TlsSettings {
  readonly caFile?: string;
  /** A client certificate, for services that ask for one (both files or neither). */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslSettings {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: Secret;
}

export interface KafkaSecurity {
  readonly tls?: TlsSettings;
  readonly sasl?: SaslSettings;
}

export interface RedisSecurity {
  /** Files for `rediss://` URLs (TLS itself is switched on by the scheme). */
  readonly tls?: TlsSettings;
  /** ACL user and password given apart from the URL (the URL may carry them instead). */
  readonly username?: string;
  readonly password?: Secret;
}

export const KAFKA_TLS = 'KAFKA_TLS';
export const KAFKA_TLS_CA_FILE = 'KAFKA_TLS_CA_FILE';
export const KAFKA_TLS_CERT_FILE = 'KAFKA_TLS_CERT_FILE';
export const KAFKA_TLS_KEY_FILE = 'KAFKA_TLS_KEY_FILE';
export const KAFKA_SASL_MECHANISM = 'KAFKA_SASL_MECHANISM';
export const KAFKA_SASL_USERNAME = 'KAFKA_SASL_USERNAME';
export const KAFKA_SASL_PASSWORD = 'KAFKA_SASL_PASSWORD';
export const REDIS_USERNAME = 'REDIS_USERNAME';
export const REDIS_PASSWORD = 'REDIS_PASSWORD';
export const REDIS_TLS_CA_FILE = 'REDIS_TLS_CA_FILE';
export const REDIS_TLS_CERT_FILE = 'REDIS_TLS_CERT_FILE';
export const REDIS_TLS_KEY_FILE = 'REDIS_TLS_KEY_FILE';
/** Any password variable may instead name a file holding it (`KAFKA_SASL_PASSWORD_FILE`), as mounted secrets are. */
export const FILE_SUFFIX = '_FILE';
/** For a CLI's --help: the variables of a secured Kafka and Redis. */
export const SECURITY_HELP =
  'Secured services (TLS, SASL, Redis ACL users): KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_SASL_MECHANISM,\n' +
  '  KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD[_FILE], REDIS_URL=rediss://..., REDIS_USERNAME, ' +
  'REDIS_PASSWORD[_FILE],\n' +
  '  REDIS_TLS_CA_FILE, client certificates (@rtml/connections README, "Production connections").';

/** Every TLS, SASL and ACL variable, so a tool printing exports for a stack can unset those it does not set. */
export const SECURITY_VARIABLES: readonly string[] = [
  KAFKA_TLS,
  KAFKA_TLS_CA_FILE,
  KAFKA_TLS_CERT_FILE,
  KAFKA_TLS_KEY_FILE,
  KAFKA_SASL_MECHANISM,
  KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD,
  `${KAFKA_SASL_PASSWORD}${FILE_SUFFIX}`,
  REDIS_USERNAME,
  REDIS_PASSWORD,
  `${REDIS_PASSWORD}${FILE_SUFFIX}`,
  REDIS_TLS_CA_FILE,
  REDIS_TLS_CERT_FILE,
  REDIS_TLS_KEY_FILE,
];

type Environment = Readonly<Record<string, string | undefined>>;

/** The settings found, and one line per problem (naming the variable, never a secret's value). */
export interface SecurityParse<T> {
  readonly security: T;
  readonly problems: readonly string[];
}

const value = (env: Environment, name: string): string | undefined => env[name]?.trim() || undefined;

function readableFile(env: Environment, name: string, problems: string[]): string | undefined {
  const file = value(env, name);
  if (file === undefined) return undefined;
  try {
    accessSync(file, constants.R_OK);
    return file;
  } catch {
    problems.push(`${name}=${file} does not exist or is not readable`);
    return undefined;
  }
}

/** A password from `NAME` or from the file named by `NAME_FILE` (one trailing newline dropped). */
function password(env: Environment, name: string, problems: string[]): Secret | undefined {
  const fileName = `${name}${FILE_SUFFIX}`;
  const direct = env[name];
  const file = readableFile(env, fileName, problems);
  if (direct !== undefined && value(env, fileName) !== undefined) {
    problems.push(`${name} and ${fileName} are both set: give the password one way`);
    return undefined;
  }
  if (file !== undefined) {
    const content = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (content === '') problems.push(`${fileName}=${file} is empty`);
    return content === '' ? undefined : new Secret(content);
  }
  return direct ? new Secret(direct) : undefined;
}

function tlsFiles(
  env: Environment,
  names: { ca: string; cert: string; key: string },
  problems: string[],
): TlsSettings | undefined {
  const caFile = readableFile(env, names.ca, problems);
  const certFile = readableFile(env, names.cert, problems);
  const keyFile = readableFile(env, names.key, problems);
  if (value(env, names.cert) !== undefined && value(env, names.key) === undefined)
    problems.push(`${names.cert} is set but ${names.key} is not: a client certificate needs its key`);
  if (value(env, names.key) !== undefined && value(env, names.cert) === undefined)
    problems.push(`${names.key} is set but ${names.cert} is not: a client key needs its certificate`);
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  return { ...(caFile && { caFile }), ...(certFile && { certFile }), ...(keyFile && { keyFile }) };
}

const KAFKA_TLS_FILES = { ca: KAFKA_TLS_CA_FILE, cert: KAFKA_TLS_CERT_FILE, key: KAFKA_TLS_KEY_FILE };
const REDIS_TLS_FILES = { ca: REDIS_TLS_CA_FILE, cert: REDIS_TLS_CERT_FILE, key: REDIS_TLS_KEY_FILE };

function kafkaTls(env: Environment, problems: string[]): TlsSettings | undefined {
  const files = tlsFiles(env, KAFKA_TLS_FILES, problems);
  const flag = value(env, KAFKA_TLS)?.toLowerCase();
  if (flag === undefined) return files;
  if (['true', '1', 'yes'].includes(flag)) return files ?? {};
  if (!['false', '0', 'no'].includes(flag))
    problems.push(`${KAFKA_TLS}="${flag}" is not a switch: expected true or false`);
  else if (files)
    problems.push(
      `${KAFKA_TLS}=false but TLS files are set (${KAFKA_TLS_CA_FILE}, ${KAFKA_TLS_CERT_FILE}): ` +
        `remove them or set ${KAFKA_TLS}=true`,
    );
  return undefined;
}

function kafkaSasl(env: Environment, problems: string[]): SaslSettings | undefined {
  const mechanism = value(env, KAFKA_SASL_MECHANISM)?.toLowerCase();
  const username = value(env, KAFKA_SASL_USERNAME);
  const secret = password(env, KAFKA_SASL_PASSWORD, problems);
  if (mechanism === undefined) {
    if (username !== undefined || secret !== undefined)
      problems.push(
        `${KAFKA_SASL_MECHANISM} is not set but Kafka credentials are: expected one of ${SASL_MECHANISMS.join(', ')}`,
      );
    return undefined;
  }
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    problems.push(
      `${KAFKA_SASL_MECHANISM}="${mechanism}" is not supported: expected one of ${SASL_MECHANISMS.join(', ')}`,
    );
    return undefined;
  }
  const needed = `needed with ${KAFKA_SASL_MECHANISM}=${mechanism}`;
  if (username === undefined) problems.push(`${KAFKA_SASL_USERNAME} is not set (${needed})`);
  if (secret === undefined && !problems.some((line) => line.startsWith(KAFKA_SASL_PASSWORD)))
    problems.push(
      `${KAFKA_SASL_PASSWORD} is not set (${needed}; or ${KAFKA_SASL_PASSWORD}${FILE_SUFFIX} naming a file)`,
    );
  return username !== undefined && secret !== undefined
    ? { mechanism: mechanism as SaslMechanism, username, password: secret }
    : undefined;
}

/** Kafka's TLS and SASL settings from the environment. */
export function parseKafkaSecurity(env: Environment): SecurityParse<KafkaSecurity> {
  const problems: string[] = [];
  const tls = kafkaTls(env, problems);
  const sasl = kafkaSasl(env, problems);
  return { security: { ...(tls && { tls }), ...(sasl && { sasl }) }, problems };
}

/** Redis' TLS files and ACL credentials from the environment; `url` is the already validated REDIS_URL. */
export function parseRedisSecurity(env: Environment, url: string, urlVariable: string): SecurityParse<RedisSecurity> {
  const problems: string[] = [];
  const parsed = new URL(url);
  const tls = tlsFiles(env, REDIS_TLS_FILES, problems);
  if (tls && parsed.protocol !== 'rediss:')
    problems.push(
      `${REDIS_TLS_CA_FILE}/${REDIS_TLS_CERT_FILE} are for TLS but ${urlVariable} ` +
        'starts with redis:// (plain text): use rediss://',
    );
  const username = value(env, REDIS_USERNAME);
  const secret = password(env, REDIS_PASSWORD, problems);
  if (username !== undefined && parsed.username !== '')
    problems.push(`${REDIS_USERNAME} and ${urlVariable} both give a user name: give it one way`);
  if (secret !== undefined && parsed.password !== '')
    problems.push(`${REDIS_PASSWORD} and ${urlVariable} both give a password: give it one way`);
  if (username !== undefined && secret === undefined && parsed.password === '' && problems.length === 0)
    problems.push(`${REDIS_PASSWORD} is not set (needed with ${REDIS_USERNAME}=${username})`);
  return {
    security: { ...(tls && { tls }), ...(username && { username }), ...(secret && { password: secret }) },
    problems,
  };
}

/** Node TLS options: the CA and client certificate files are read now, so the next client picks up a replaced file. */
function tlsOptions(tls: TlsSettings): ConnectionOptions {
  return {
    ...(tls.caFile && { ca: [readFileSync(tls.caFile)] }),
    ...(tls.certFile && { cert: readFileSync(tls.certFile) }),
    ...(tls.keyFile && { key: readFileSync(tls.keyFile) }),
  };
}

/** The `ssl` and `sasl` parts of a kafkajs config for these settings (nothing for a plain connection). */
export function kafkaSecurityConfig(security: KafkaSecurity): { ssl?: ConnectionOptions; sasl?: SASLOptions } {
  const { tls, sasl } = security;
  return {
    ...(tls && { ssl: tlsOptions(tls) }),
    ...(sasl && { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password.reveal() } }),
  };
}

/** The ioredis options for these settings; URL credentials and `rediss://` are applied by ioredis itself. */
export function redisSecurityOptions(security: RedisSecurity): {
  tls?: ConnectionOptions;
  username?: string;
  password?: string;
} {
  return {
    ...(security.tls && { tls: tlsOptions(security.tls) }),
    ...(security.username && { username: security.username }),
    ...(security.password && { password: security.password.reveal() }),
  };
}

/** `TLS, SASL scram-sha-512 as processor`: how a connection is secured, for messages (no secret in it). */
export function describeSecurity(security: KafkaSecurity | RedisSecurity): string {
  const parts: string[] = [];
  if (security.tls) parts.push(security.tls.caFile ? `TLS, CA ${security.tls.caFile}` : 'TLS');
  if ('sasl' in security && security.sasl) parts.push(`SASL ${security.sasl.mechanism} as ${security.sasl.username}`);
  if ('username' in security && security.username) parts.push(`as ${security.username}`);
  return parts.join(', ');
}

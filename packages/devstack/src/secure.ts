import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { type AclEntry } from 'kafkajs';
import {
  checkKafka,
  checkRedis,
  kafkaClient,
  readKafkaSettings,
  readRedisSettings,
  redisSecurityOptions,
} from '@rtml/connections';
import type { KafkaPorts, KafkaVariant } from './kafka-native.js';
import { progress } from './process.js';
import type { RedisClusterSecurity } from './redis-cluster.js';
import type { RedisVariant } from './redis-native.js';
import { ensureTlsMaterial, type TlsMaterial } from './tls-material.js';

/**
 * The secure dev stack: TLS everywhere, SCRAM users and ACLs on Kafka (KRaft StandardAuthorizer), ACL users on
 * Redis (default user off, plain port closed). Least privilege by naming convention, as in production:
 * - `admin`: everything (set-up: topics, ACLs, clean-up).
 * - `processor`: reads input topics (`events.*`), writes and creates dead-letter topics (`dlq.*`), its consumer
 *   groups and transactional ids (`processor.*`); Redis read/write on feature (`rtml:*:fs:*`) and checkpoint
 *   (`rtml:*:stream:*`) keys and the scripts that write them.
 * - `serving`: Redis read-only on feature keys; Kafka writes (and creates) served-vector logs (`served.*`) only.
 */
export const SECURE_PRINCIPALS = ['admin', 'processor', 'serving'] as const;
export type SecurePrincipal = (typeof SECURE_PRINCIPALS)[number];

/** Name prefixes the ACLs grant on. */
export const SECURE_NAMING = {
  inputTopicPrefix: 'events.',
  deadLetterTopicPrefix: 'dlq.',
  servedTopicPrefix: 'served.',
  processorGroupPrefix: 'processor.',
  featureKeys: 'rtml:*:fs:*',
  checkpointKeys: 'rtml:*:stream:*',
} as const;

/** What clients of a secure stack need besides its addresses; recorded with the stack for `status`. */
export interface SecureStackInfo {
  readonly caFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** One owner-only file per principal holding its password (the same for Kafka and Redis). */
  readonly secretsDir: string;
}

/** The SASL mechanism clients use by default; the broker also accepts SCRAM-SHA-256 and PLAIN for every user. */
const CLIENT_MECHANISM = 'scram-sha-512';

/**
 * The variables a principal's clients read (see @rtml/connections). Passwords are given as files, so printing
 * these (`infra:status --secure-as serving`) never shows a secret.
 */
export function secureEnvironment(
  stack: { kafkaBrokers: string; redisUrl: string; secure: SecureStackInfo },
  principal: SecurePrincipal,
): Record<string, string> {
  const passwordFile = join(stack.secure.secretsDir, principal);
  return {
    KAFKA_BROKERS: stack.kafkaBrokers,
    KAFKA_TLS: 'true',
    KAFKA_TLS_CA_FILE: stack.secure.caFile,
    KAFKA_SASL_MECHANISM: CLIENT_MECHANISM,
    KAFKA_SASL_USERNAME: principal,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    REDIS_URL: stack.redisUrl,
    REDIS_TLS_CA_FILE: stack.secure.caFile,
    REDIS_USERNAME: principal,
    REDIS_PASSWORD_FILE: passwordFile,
  };
}

/** Everything a secure start needs: the broker and server variants, and what to do once they answer. */
export interface SecureSetup {
  readonly info: SecureStackInfo;
  readonly kafka: KafkaVariant;
  readonly redis: RedisVariant;
  /** Grants the Kafka ACLs (Redis' users are in its config file). */
  afterStart(endpoints: { kafkaBrokers: string; redisUrl: string }): Promise<void>;
}

/** Fresh random passwords for this stack, in owner-only files under `runDir/secrets`. */
function writePasswords(runDir: string): { secretsDir: string; passwords: Record<SecurePrincipal, string> } {
  const secretsDir = join(runDir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const passwords = Object.fromEntries(
    SECURE_PRINCIPALS.map((principal) => [principal, randomBytes(24).toString('base64url')]),
  ) as Record<SecurePrincipal, string>;
  for (const principal of SECURE_PRINCIPALS)
    writeFileSync(join(secretsDir, principal), `${passwords[principal]}\n`, { mode: 0o600 });
  return { secretsDir, passwords };
}

/** Prepares certificates, passwords and config for a secure stack in `runDir`; nothing is started yet. */
export function prepareSecureStack(runDir: string): SecureSetup {
  const tls = ensureTlsMaterial();
  const { secretsDir, passwords } = writePasswords(runDir);
  const info: SecureStackInfo = {
    caFile: tls.caFile,
    clientCertFile: tls.clientCertFile,
    clientKeyFile: tls.clientKeyFile,
    secretsDir,
  };
  const adminEnv = (endpoints: { kafkaBrokers: string; redisUrl: string }) =>
    secureEnvironment({ ...endpoints, secure: info }, 'admin');
  const redisDir = join(runDir, 'redis');
  mkdirSync(redisDir, { recursive: true });
  const redisConfig = join(redisDir, 'secure.conf');
  writeFileSync(redisConfig, redisConfigText(tls, passwords), { mode: 0o600 });
  return {
    info,
    kafka: {
      properties: (ports) => secureKafkaProperties(tls, ports, passwords),
      formatArgs: scramUsers(passwords),
      answers: (brokers) =>
        checkKafka(readKafkaSettings(adminEnv({ kafkaBrokers: brokers, redisUrl: '' })), { timeoutMs: 2_000 }).then(
          () => true,
        ),
    },
    redis: secureRedisVariant(info, redisConfig),
    afterStart: (endpoints) => grantKafkaAcls(adminEnv(endpoints)),
  };
}

/**
 * A Redis Cluster with the same TLS material, users and passwords as the secure stack `info` describes: TLS on the
 * client port, the cluster bus and replication (`tls-cluster`, `tls-replication`); replicas sync as `admin`.
 * Clients use the stack's principals with REDIS_CLUSTER_NODES (secureClusterEnvironment).
 */
export function secureRedisCluster(info: SecureStackInfo, runDir: string): RedisClusterSecurity {
  const tls = ensureTlsMaterial();
  const passwords = Object.fromEntries(
    SECURE_PRINCIPALS.map((principal) => [principal, readSecurePassword(info, principal)]),
  ) as Record<SecurePrincipal, string>;
  mkdirSync(runDir, { recursive: true });
  const configFile = join(runDir, 'secure-cluster.conf');
  const clusterLines = ['tls-cluster yes', 'tls-replication yes', 'masteruser admin', `masterauth ${passwords.admin}`];
  writeFileSync(configFile, redisConfigText(tls, passwords) + clusterLines.join('\n') + '\n', { mode: 0o600 });
  return {
    variant: secureRedisVariant(info, configFile),
    cliArgs: ['--tls', '--cacert', info.caFile, '--user', 'admin'],
    cliEnv: { REDISCLI_AUTH: passwords.admin },
    clientOptions: redisSecurityOptions(adminRedisSettings(info, 'rediss://127.0.0.1')),
  };
}

/** A TLS-only redis-server (`--port 0`) with the secure config file; it answers when `admin` gets a PING through. */
function secureRedisVariant(info: SecureStackInfo, configFile: string): RedisVariant {
  return {
    configFile,
    listen: (port) => ({ args: ['--port', '0', '--tls-port', String(port)], url: `rediss://127.0.0.1:${port}` }),
    answers: (url) => checkRedis(adminRedisSettings(info, url), { timeoutMs: 2_000 }).then(() => true),
  };
}

/** How `admin` reaches the Redis at `url`, read as every client reads it (TLS files, ACL user, password file). */
const adminRedisSettings = (info: SecureStackInfo, url: string) =>
  readRedisSettings(secureEnvironment({ kafkaBrokers: '', redisUrl: url, secure: info }, 'admin'));

/** `secureEnvironment` for a Redis Cluster: REDIS_CLUSTER_NODES instead of REDIS_URL, the same principal's files. */
export function secureClusterEnvironment(
  stack: { kafkaBrokers: string; redisClusterNodes: string; secure: SecureStackInfo },
  principal: SecurePrincipal,
): Record<string, string> {
  const { REDIS_URL: _single, ...rest } = secureEnvironment({ ...stack, redisUrl: '' }, principal);
  return { ...rest, REDIS_CLUSTER_NODES: stack.redisClusterNodes };
}

/** `--add-scram` arguments of the storage format: every principal under both SCRAM mechanisms. */
function scramUsers(passwords: Record<SecurePrincipal, string>): string[] {
  return SECURE_PRINCIPALS.flatMap((name) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
      '--add-scram',
      `${mechanism}=[name=${name},password=${passwords[name]}]`,
    ]),
  );
}

const jaas = (module: string, options: string) => `org.apache.kafka.common.security.${module} required ${options};`;

/**
 * A SASL_SSL client listener (SCRAM-SHA-256/512, and PLAIN as some managed services use) and a SASL_PLAINTEXT
 * loopback controller listener (PLAIN; KRaft cannot check SCRAM there, its credentials live in the metadata the
 * controller serves). The broker authenticates as `admin` on both, the only super user; everyone else needs an ACL.
 */
function secureKafkaProperties(
  tls: TlsMaterial,
  ports: KafkaPorts,
  passwords: Record<SecurePrincipal, string>,
): Record<string, string> {
  const adminLogin = `username="admin" password="${passwords.admin}"`;
  const plainUsers = SECURE_PRINCIPALS.map((name) => `user_${name}="${passwords[name]}"`).join(' ');
  return {
    listeners: `SASL_SSL://127.0.0.1:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`,
    'advertised.listeners': `SASL_SSL://127.0.0.1:${ports.broker}`,
    'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT',
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': jaas('plain.PlainLoginModule', `${adminLogin} ${plainUsers}`),
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': jaas('scram.ScramLoginModule', adminLogin),
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': jaas('scram.ScramLoginModule', adminLogin),
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': jaas(
      'plain.PlainLoginModule',
      `${adminLogin} user_admin="${passwords.admin}"`,
    ),
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': tls.serverKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': tls.caFile,
    'listener.name.sasl_ssl.ssl.client.auth': 'requested',
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:admin',
    'allow.everyone.if.no.acl.found': 'false',
    // Topics are made on purpose, by a principal allowed to; a typo must not create one.
    'auto.create.topics.enable': 'false',
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** TLS only (`--port 0` on the command line), the default user off, one ACL user per principal (hashed passwords). */
function redisConfigText(tls: TlsMaterial, passwords: Record<SecurePrincipal, string>): string {
  const { featureKeys, checkpointKeys } = SECURE_NAMING;
  // INFO is allowed so clients' ready checks work, CLUSTER SLOTS and CLUSTER INFO so a cluster client finds the nodes
  // and gets ready (on one server they only error); everything @dangerous (FLUSHALL, CONFIG, KEYS, DEBUG) is not.
  const clusterClient = '+cluster|slots +cluster|info';
  const user = (name: SecurePrincipal, rules: string) =>
    `user ${name} on #${sha256(passwords[name])} resetkeys resetchannels ${rules}`;
  return [
    `tls-cert-file ${tls.serverCertFile}`,
    `tls-key-file ${tls.serverKeyFile}`,
    `tls-ca-cert-file ${tls.caFile}`,
    'tls-auth-clients optional',
    'user default off resetkeys -@all',
    user('admin', '~* &* +@all'),
    user(
      'processor',
      `~${featureKeys} ~${checkpointKeys} ` +
        `-@all +@read +@write +@scripting +@connection +@transaction -@dangerous +info ${clusterClient}`,
    ),
    user('serving', `%R~${featureKeys} -@all +@read +@connection -@dangerous +info ${clusterClient}`),
    '',
  ].join('\n');
}

// kafkajs' ACL enums are not visible as ESM named exports (cjs-module-lexer misses them); the default export has them.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type Grant = readonly [
  (typeof AclResourceTypes)[keyof typeof AclResourceTypes],
  string,
  readonly (typeof AclOperationTypes)[keyof typeof AclOperationTypes][],
];

const { TOPIC, GROUP, TRANSACTIONAL_ID } = AclResourceTypes;
const { READ, WRITE, DESCRIBE, DESCRIBE_CONFIGS, CREATE } = AclOperationTypes;

const GRANTS: Readonly<Record<Exclude<SecurePrincipal, 'admin'>, readonly Grant[]>> = {
  // DESCRIBE_CONFIGS: the processor sizes its dead-letter topics from the input's max.message.bytes (read-only).
  processor: [
    [TOPIC, SECURE_NAMING.inputTopicPrefix, [READ, DESCRIBE, DESCRIBE_CONFIGS]],
    [TOPIC, SECURE_NAMING.deadLetterTopicPrefix, [WRITE, DESCRIBE, DESCRIBE_CONFIGS, CREATE]],
    [GROUP, SECURE_NAMING.processorGroupPrefix, [READ, DESCRIBE]],
    [TRANSACTIONAL_ID, SECURE_NAMING.processorGroupPrefix, [WRITE, DESCRIBE]],
  ],
  serving: [[TOPIC, SECURE_NAMING.servedTopicPrefix, [WRITE, DESCRIBE, CREATE]]],
};

/** Prefixed ALLOW entries for each principal, created as `admin`. */
async function grantKafkaAcls(adminEnv: Record<string, string>): Promise<void> {
  const acl: AclEntry[] = Object.entries(GRANTS).flatMap(([principal, grants]) =>
    grants.flatMap(([resourceType, resourceName, operations]) =>
      operations.map((operation) => ({
        resourceType,
        resourceName,
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal: `User:${principal}`,
        host: '*',
        operation,
        permissionType: AclPermissionTypes.ALLOW,
      })),
    ),
  );
  const admin = kafkaClient(readKafkaSettings(adminEnv), { clientId: 'devstack-secure-setup' }).admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl });
  } finally {
    await admin.disconnect();
  }
  progress(`secure: granted ${acl.length} Kafka ACLs to ${Object.keys(GRANTS).join(', ')} (admin is the super user)`);
}

/** A principal's password, for tests that must prove it never reaches a log line. */
export function readSecurePassword(info: SecureStackInfo, principal: SecurePrincipal): string {
  return readFileSync(join(info.secretsDir, principal), 'utf8').trim();
}

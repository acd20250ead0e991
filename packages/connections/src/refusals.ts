import { TopicCreationError } from '@rtml/kafka';
import {
  KAFKA_SASL_MECHANISM,
  KAFKA_SASL_PASSWORD,
  KAFKA_SASL_USERNAME,
  KAFKA_TLS,
  KAFKA_TLS_CA_FILE,
  REDIS_PASSWORD,
  REDIS_TLS_CA_FILE,
  REDIS_USERNAME,
  type KafkaSecurity,
} from './security.js';

/**
 * A service that answers but refuses us (wrong credentials, an untrusted certificate, TLS on one side only, an
 * ACL) as one line naming the setting to change. Clients report these as connection failures or stack traces
 * ("Closed connection", "self-signed certificate in certificate chain") that send people looking for an outage.
 */

const UNTRUSTED = new RegExp(
  [
    'self[- ]signed certificate',
    'unable to verify',
    'unable to get (local )?issuer',
    'certificate has expired',
    'certificate is not yet valid',
    'Hostname/IP does not match',
    'ERR_TLS_CERT',
    'CERT_HAS_EXPIRED',
  ].join('|'),
  'i',
);
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|EPROTO/i;

/** `where` is how the connection is described (describeKafka/describeRedis, or just the variable). */
export function explainKafkaRefusal(
  rawCause: string,
  where: string,
  security: KafkaSecurity | undefined,
  preflight = false,
): string | undefined {
  const cause = shortTlsCause(rawCause);
  if (/SASL .*authentication failed|Authentication failed/i.test(cause))
    return (
      `Kafka at ${where} refused the credentials (${cause}): ` +
      `check ${KAFKA_SASL_USERNAME}, ${KAFKA_SASL_PASSWORD} and ${KAFKA_SASL_MECHANISM}`
    );
  if (UNTRUSTED.test(cause))
    return (
      `the TLS certificate of Kafka at ${where} is not trusted (${cause}): ` +
      `set ${KAFKA_TLS_CA_FILE} to the CA that signed it`
    );
  if (NOT_TLS.test(cause))
    return (
      `Kafka at ${where} does not speak TLS on that port (${cause}): ` +
      `set ${KAFKA_TLS}=false or use the broker's TLS listener`
    );
  if (/not authorized|authorization failed|AUTHORIZATION_FAILED/i.test(cause))
    return `Kafka at ${where} denied the operation (${cause}): the ACLs of ${KAFKA_SASL_USERNAME} do not allow it`;
  // A listener that needs TLS or SASL hangs up on a client without them; at run time the same words mean an outage.
  if (preflight && /Closed connection/i.test(cause))
    return `Kafka at ${where} closed the connection (${cause}): ${closedHint(security)}`;
  return undefined;
}

/**
 * `wrong version number` out of OpenSSL's
 * `8019...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/...`.
 */
function shortTlsCause(cause: string): string {
  return /SSL routines:[^:]*:([^:]+)/.exec(cause)?.[1] ?? cause.trim();
}

function closedHint(security: KafkaSecurity | undefined): string {
  if (!security?.tls)
    return `if its listener uses TLS (SSL or SASL_SSL), set ${KAFKA_TLS}=true and ${KAFKA_TLS_CA_FILE}`;
  if (!security.sasl)
    return `if its listener needs SASL, set ${KAFKA_SASL_MECHANISM}, ${KAFKA_SASL_USERNAME} and ${KAFKA_SASL_PASSWORD}`;
  return 'is this the port of the SASL_SSL listener?';
}

export function explainRedisRefusal(rawCause: string, where: string, preflight = false): string | undefined {
  const cause = shortTlsCause(rawCause);
  if (/WRONGPASS/.test(cause))
    return (
      `Redis at ${where} refused the user name or password (${cause}): ` +
      `check ${REDIS_USERNAME} and ${REDIS_PASSWORD} (or the credentials in the URL)`
    );
  if (/NOAUTH/.test(cause))
    return (
      `Redis at ${where} needs credentials (${cause}): ` +
      `set ${REDIS_USERNAME} and ${REDIS_PASSWORD}, or put them in the URL`
    );
  if (/cluster support disabled/i.test(cause))
    return `Redis at ${where} is one server, not a Redis Cluster (${cause}): set REDIS_URL instead`;
  if (/NOPERM.*cluster\|(slots|info)/i.test(cause))
    return (
      `Redis at ${where} denied a CLUSTER command (${cause}): a Redis Cluster client needs CLUSTER SLOTS and ` +
      'CLUSTER INFO; grant the ACL user +cluster|slots +cluster|info'
    );
  if (/NOPERM/.test(cause)) return `Redis at ${where} denied the command (${cause}): the ACL user lacks the permission`;
  if (UNTRUSTED.test(cause))
    return (
      `the TLS certificate of Redis at ${where} is not trusted (${cause}): ` +
      `set ${REDIS_TLS_CA_FILE} to the CA that signed it`
    );
  if (NOT_TLS.test(cause))
    return `Redis at ${where} does not speak TLS on that port (${cause}): use a redis:// URL or the server's TLS port`;
  if (preflight && /ECONNRESET|Connection is closed/i.test(cause) && where.includes('redis://'))
    return `Redis at ${where} closed the connection (${cause}): if it serves TLS only, use a rediss:// URL`;
  return undefined;
}

/** For a CLI's last line, where no settings object is at hand: the variables are named generically. */
export function explainAnyRefusal(error: Error): string | undefined {
  const kafka = error.name.startsWith('KafkaJS') || error instanceof TopicCreationError || /SASL/.test(error.message);
  return kafka
    ? explainKafkaRefusal(error.message, 'KAFKA_BROKERS', undefined)
    : explainRedisRefusal(error.message, 'REDIS_URL');
}

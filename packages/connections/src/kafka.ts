// Loads the fix for kafkajs' negative timers on idle connections (Node 24 TimeoutNegativeWarning), see @rtml/kafka.
import '@rtml/kafka';
import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import { explainKafkaRefusal } from './refusals.js';
import { kafkaSecurityConfig } from './security.js';
import { describeKafka, type KafkaSettings } from './settings.js';
import {
  isUnreachable,
  networkCause,
  REPORT_INTERVAL_MS,
  throttledWriter,
  writeToStderr,
  type ReportOptions,
} from './throttle.js';

/**
 * Replies a healthy cluster gives while it starts up or rebalances; kafkajs retries them and logs each as an
 * ERROR, so every fresh run looked broken. Shown only when KAFKAJS_LOG_LEVEL=debug.
 */
const ROUTINE = new RegExp(
  [
    'coordinator is loading',
    'group coordinator is not available',
    'not the correct coordinator',
    'rebalanc',
    'no leader for this topic-partition',
    'does not host this topic-partition',
    'leadership election',
  ].join('|'),
  'i',
);
/**
 * kafkajs logs a CreateTopics reply with any per-topic error ("Topic creation errors", no topic, no reason) and
 * then hands the errors to the caller: `false` for topics that exist already, or an error that `ensureTopics`
 * (@rtml/kafka) turns into one line naming each topic and the broker's reason. So the log line only adds noise.
 */
const LEFT_TO_CALLER = /^Response CreateTopics\(/;

/**
 * kafkajs log lines a person can act on: routine start-up retries demoted to debug, an unreachable broker
 * reported at most once per interval naming the setting, anything else as one line (never a stack trace).
 */
export function kafkaLogCreator(settings: KafkaSettings, options: ReportOptions = {}): logCreator {
  const write = options.write ?? writeToStderr;
  const report = throttledWriter(options.intervalMs ?? REPORT_INTERVAL_MS, write);
  return (configuredLevel) => {
    // kafkajs logs a consumer crash, then "Restarting the consumer in N ms": routine when the crash was.
    let lastCrashWasRoutine = false;
    return ({ namespace, label, log }) => {
      const error = reasonOf(log.error);
      const text = `${log.message} ${error}`.trim();
      const refusal = explainKafkaRefusal(networkCause(error || log.message), describeKafka(settings), settings);
      if (log.message.startsWith('Crash:')) lastCrashWasRoutine = ROUTINE.test(text);
      const routine = ROUTINE.test(text) || LEFT_TO_CALLER.test(log.message);
      if (routine || (lastCrashWasRoutine && log.message.startsWith('Restarting the consumer'))) {
        if (configuredLevel >= logLevel.DEBUG) write(`[kafka debug] ${namespace}: ${text}`);
      } else if (refusal) {
        report('refused', `[kafka] ${refusal}`);
      } else if (isUnreachable(text)) {
        report(
          'unreachable',
          `[kafka] cannot reach ${describeKafka(settings)} (${networkCause(error || log.message)}); retrying`,
        );
      } else {
        write(`[kafka ${label.toLowerCase()}] ${namespace}: ${text}`);
      }
    };
  };
}

/** kafkajs passes `error` as a message for protocol errors but as the Error itself when eachBatch throws. */
function reasonOf(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Error) return error.message;
  return '';
}

/**
 * A kafkajs client for these settings with the quiet, actionable logger (errors only; KAFKAJS_LOG_LEVEL
 * raises it), TLS and SASL as the settings say. Callers may override any option but the brokers.
 */
export function kafkaClient(settings: KafkaSettings, config: Omit<KafkaConfig, 'brokers'> & ReportOptions = {}): Kafka {
  const { intervalMs, write, ...kafkaConfig } = config;
  return new Kafka({
    logLevel: logLevel.ERROR,
    logCreator: kafkaLogCreator(settings, { intervalMs, write }),
    ...kafkaSecurityConfig(settings),
    ...kafkaConfig,
    brokers: [...settings.brokers],
  });
}

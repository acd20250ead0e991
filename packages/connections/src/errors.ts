import { TopicCreationError } from '@rtml/kafka';
import { explainAnyRefusal } from './refusals.js';

/** What to do when the services are missing or unreachable; the dev stack is how this project provides them. */
export const START_HINT = 'start the stack with `npm run infra:up` and `eval "$(npm run --silent infra:status)"`';

/**
 * A connection setting that is missing, malformed or points at nothing. Its message is meant for a person:
 * one or two lines naming the variable, its value and what to do, so CLIs print it without a stack trace.
 */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/**
 * The line a CLI prints for an error that ends it: a ConnectionError or a client giving up on an unreachable
 * service as one line naming the setting to check, a topic the broker would not create as its reasons; anything else
 * with its stack (a bug: the stack helps), or
 * just its message for a CLI whose other errors are all meant for the user.
 */
export function explainFailure(error: unknown, otherwise: 'stack' | 'message' = 'stack'): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof ConnectionError) return error.message;
  const refusal = explainAnyRefusal(error);
  if (refusal) return refusal;
  // Already one line per topic with the broker's reason (a bad setting, not a bug).
  if (error instanceof TopicCreationError) return error.message;
  if (error.name === 'MaxRetriesPerRequestError' || /^(connect )?E[A-Z]+ .*:\d+$/.test(error.message)) {
    return `Redis stopped answering (${error.message}); check that the server at REDIS_URL is up`;
  }
  if (
    error.name.startsWith('KafkaJS') &&
    /ECONNREFUSED|Connection (error|timeout)|connect to seed broker/.test(error.message)
  ) {
    return `Kafka stopped answering (${error.message}); check that the brokers at KAFKA_BROKERS are up`;
  }
  return otherwise === 'stack' ? (error.stack ?? error.message) : error.message;
}

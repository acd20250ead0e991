/**
 * A lab's checkpoint: a list of checks on the participant's result, each with the message that says precisely
 * what is wrong when it fails. Prints one line per check and throws when any fails, so the notebook (and CI,
 * which runs every untouched lab expecting exactly this error) sees the failure.
 */
import { md } from './plot';

/** `true` = passed; a string = failed, and the string says what is wrong and what to do. */
export type CheckResult = true | string;

export const CHECKPOINT_FAILED = 'CHECKPOINT FAILED';

export interface CheckpointOptions {
  /** How to try again after a failure, when it takes more than re-running a cell (a lab that ran a live pipeline). */
  readonly retry?: string;
}

export function checkpoint(
  name: string,
  checks: ReadonlyArray<readonly [string, CheckResult]>,
  options: CheckpointOptions = {},
): void {
  const failed = checks.filter(([, result]) => result !== true);
  const lines = checks.map(([what, result]) => (result === true ? `- ✅ ${what}` : `- ❌ ${what}: **${result}**`));
  const passed = checks.length - failed.length;
  const retry = failed.length > 0 && options.retry ? `\n\n${options.retry}` : '';
  md(`**Checkpoint: ${name}** — ${passed} of ${checks.length} checks pass\n\n${lines.join('\n')}${retry}`);
  if (failed.length > 0) {
    throw new Error(`${CHECKPOINT_FAILED} (${name}): ${failed.map(([what, why]) => `${what}: ${why}`).join(' | ')}`);
  }
}

/** `true` when `ok`, else the message: keeps the check lists short. */
export const expect = (ok: boolean, otherwise: string): CheckResult => (ok ? true : otherwise);

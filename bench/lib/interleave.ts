/** Latencies of one contender, in microseconds, in call order. */
export type Sample = number[];

/**
 * Runs each contender once per round, alternating who goes first so machine noise hits all of them equally,
 * and records microseconds per call.
 */
export async function interleaved(
  rounds: number,
  contenders: Record<string, () => Promise<unknown>>,
): Promise<Record<string, Sample>> {
  const names = Object.keys(contenders);
  const samples: Record<string, Sample> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const started = process.hrtime.bigint();
      await contenders[name]!();
      samples[name]!.push(Number(process.hrtime.bigint() - started) / 1000);
    }
  }
  return samples;
}

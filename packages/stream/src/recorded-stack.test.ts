import { describe, expect, it } from 'vitest';
import { environmentWithRecordedStack } from './recorded-stack.js';

describe('environmentWithRecordedStack', () => {
  it('is the environment as it is when @rtml/devstack is not installed (a deployed processor)', async () => {
    expect(await environmentWithRecordedStack('@rtml/devstack-not-installed')).toBe(process.env);
  });

  it("keeps the environment's endpoints when devstack is installed", async () => {
    // The test run exports the stack's KAFKA_BROKERS / REDIS_URL (test/global-setup.ts): those win over any record.
    const env = await environmentWithRecordedStack();
    expect(env['KAFKA_BROKERS']).toBe(process.env['KAFKA_BROKERS']);
    expect(env['KAFKA_BROKERS']).toBeTruthy();
  });
});

/// <reference lib="dom" />
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { kafkaClient, readConnectionSettings, redisClient } from '@rtml/connections';
import { duration } from '@rtml/features';
import { transactions, userTransactionFeatures } from '@rtml/features/testing';
import { ensureTopics } from '@rtml/kafka';
import { OfflineStore } from '@rtml/offline-store';
import { deleteNamespace, OnlineStore, type RedisClient } from '@rtml/online-store';
import { KafkaServedLog } from '@rtml/serving';
import { featureSetProcessor, serveMetrics, StreamProcessor, waitUntilCaughtUp } from '@rtml/stream';
import { createConsoleApp } from './app.js';
import { DeadLetterBook } from './dead-letters.js';
import { Redriver } from './redrive.js';
import { ConsoleState, pipelineInput, type ConsoleSettings } from './state.js';

/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core: nothing downloads a
 * browser) against a real pipeline: Kafka, a stream processor running the example feature set into Redis, its
 * metrics endpoint, an offline store and a served-vector log. One scenario, in order, sharing the stack.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dirname, '../../../.cache/console-screenshots');
const run = randomUUID().slice(0, 8);
const topic = `console-${run}-transactions`;
const group = `console-${run}-processor`;
const namespace = `console-${run}`;
const ledgerTopic = `console-${run}-redrives`;
const servedTopic = `console-${run}-served`;
/** A tiny fraud-scenario run's results file (`npm start -w @rtml/scenario-fraud-detection -- --size tiny`). */
const RESULTS_FIXTURE = resolve(import.meta.dirname, 'testing/scenario-results.json');

const connections = readConnectionSettings({ KAFKA_BROKERS: inject('kafkaBrokers'), REDIS_URL: inject('redisUrl') });
const kafka = kafkaClient(connections.kafka, { clientId: 'console-test' });
let admin: Admin;
let producer: Producer;
let redis: RedisClient;
let store: OnlineStore;
let processor: StreamProcessor<unknown, unknown>;
let metrics: Server;
let state: ConsoleState;
let app: FastifyInstance;
let url: string;
let browser: Browser;
let offlineDir: string;
const pageErrors: string[] = [];
const dialogs: string[] = [];

const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000; // whole seconds: the page's as-of input has no ms
const txn = (i: number, amount: number | string, merchantId = `m${i}`) => ({
  eventId: `${run}-e${i}`,
  eventTime: t0 + i * 1000,
  userId: 'alice',
  amount,
  merchantId,
});
const produce = (values: readonly object[]) =>
  producer.send({ topic, acks: -1, messages: values.map((v) => ({ key: 'alice', value: JSON.stringify(v) })) });
const settings = (): ConsoleSettings => ({
  inputs: [pipelineInput(topic, userTransactionFeatures)],
  namespace,
  metricsUrls: [`http://127.0.0.1:${(metrics.address() as AddressInfo).port}/metrics`],
  offlineDir,
  servedLogTopic: servedTopic,
  ledgerTopic,
  intervalMs: 400,
});
const caughtUp = () => waitUntilCaughtUp(store, admin, [{ group, topic }], { timeoutMs: 60_000 });

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: run scripts/setup.sh (it installs Debian's chromium) or set CHROMIUM_PATH`,
    );
  admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  redis = redisClient(connections.redis);
  const set = userTransactionFeatures;
  store = new OnlineStore(redis, { namespace, featureSets: [set] });
  const topology = { processor: featureSetProcessor(set), topics: [topic], allowedLateness: duration.hours(1) };
  processor = new StreamProcessor({ topology, kafka: connections.kafka, store, group, progressIntervalMs: 0 });
  await processor.start();
  metrics = await serveMetrics(processor.metrics.registry, 0, () => processor.health());
  offlineDir = await mkdtemp(join(tmpdir(), 'console-offline-'));
  state = new ConsoleState(kafka, redis, admin, settings());
  await state.start();
  app = createConsoleApp({
    state,
    featureSets: [pipelineInput(topic, set)],
    resultsFile: RESULTS_FIXTURE,
    allowRedrive: true,
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await app?.close(); // first, with the pages' event streams still open: close must end them
  await browser?.close();
  await state?.stop();
  await processor?.stop();
  metrics?.close();
  await producer?.disconnect();
  if (redis) await deleteNamespace(redis, namespace);
  redis?.disconnect();
  await admin?.deleteTopics({ topics: [topic, `${topic}.dlq`, ledgerTopic, servedTopic] }).catch(() => undefined);
  await admin?.disconnect();
  if (offlineDir) await rm(offlineDir, { recursive: true, force: true });
});

async function openPage(hash: string, width = 1280, height = 800): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  page.setDefaultTimeout(60_000); // an upper bound for a loaded CI machine, not a speed requirement
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${url}/${hash}`, { waitUntil: 'domcontentloaded' });
  return page;
}

const text = (page: Page, selector: string) => page.$eval(selector, (node) => node.textContent ?? '');
const onlineCount = (page: Page) => text(page, '[data-testid="online-txn_count_1h"]');

async function lookUp(page: Page, id: string): Promise<void> {
  await page.goto(`${url}/#entity?id=${id}`);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForSelector('[data-testid="online-txn_count_1h"]');
}

describe('pipeline console in headless Chromium', () => {
  it('loads without console errors, and producing events moves the counters and the entity view', async () => {
    const page = await openPage('#pipeline');
    await page.waitForSelector('[data-testid="events-total"]');
    await lookUp(page, 'alice');
    expect(await onlineCount(page)).toBe('–');
    await produce([txn(1, 5), txn(2, 7), txn(3, 11)]);
    await page.goto(`${url}/#pipeline`);
    await page.waitForFunction(() => document.querySelector('[data-testid="events-total"]')?.textContent === '3', {
      timeout: 30_000,
    });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="groups"]')?.textContent?.includes('[0, 1, 2]'),
      { timeout: 30_000 },
    );
    await caughtUp();
    await lookUp(page, 'alice');
    expect(await onlineCount(page)).toBe('3');
    await page.screenshot({ path: join(SHOTS, 'pipeline-1280x800.png') });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('shows the offline value as of a time, agreement with online, and the served-vector log', async () => {
    const events = [1, 2, 3].map((i) => transactions.schema.parse(txn(i, [5, 7, 11][i - 1]!)));
    const offline = await OfflineStore.open({ dir: offlineDir });
    await offline.loadEvents('events', transactions, events);
    await offline.backfill(userTransactionFeatures, { events: 'events', eventTimeEncoding: 'epoch_ms' });
    offline.close();
    const log = await KafkaServedLog.connect({
      brokers: connections.kafka.brokers,
      kafka: connections.kafka,
      topic: servedTopic,
      partitions: 1,
    });
    log.append({
      requestId: 'r-1',
      entityId: 'alice',
      requestTime: t0,
      servedAt: Date.now(),
      model: 'test',
      values: { txn_count_1h: 3 },
      status: { txn_count_1h: 'fresh' },
      fallbacks: [],
      score: 0.25,
    });
    await log.close();

    const page = await openPage('#entity');
    await expect
      .poll(async () => (await lookUp(page, 'alice'), text(page, '[data-testid="served"]')), { timeout: 30_000 })
      .toContain('r-1');
    expect(await text(page, '[data-testid="agreement"]')).toContain('agree');
    expect(await text(page, '[data-testid="agreement"]')).not.toContain('disagree');
    // `fresh` is what a set without maxAge always reads: the header says why, next to the measured freshness.
    expect(await text(page, 'h3')).toMatch(/freshness \d[^(]* \(the set has no maxAge: never stale\)$/);
    // As of between the 2nd and 3rd event, the offline history holds 2 transactions.
    const asOf = new Date(t0 + 2_500).toISOString().slice(0, 19);
    await page.goto(`${url}/#entity?id=alice&asOf=${asOf}`);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('tr[data-feature="txn_count_1h"]');
    expect(await page.$$eval('tr[data-feature="txn_count_1h"] td', (tds) => tds.map((td) => td.textContent))).toEqual([
      'txn_count_1h',
      '3',
      'fresh',
      '2',
      '3',
      'yes',
    ]);
    await page.screenshot({ path: join(SHOTS, 'entity-1280x800.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it(
    'lists a malformed event under dead letters with its reason, escaping a <script> payload; a fixed ' +
      'letter re-driven twice is applied once',
    async () => {
      const attack = '<script>window.__pwned = 1; alert(1)</script><img src=x onerror=window.__pwned=2>';
      await produce([txn(4, 'ten', attack)]);
      const page = await openPage('#dead-letters');
      await page.waitForSelector('tr[data-letter-row]', { timeout: 30_000 });
      const row = await page.$eval('tr[data-letter-row]', (tr) => ({
        id: tr.getAttribute('data-letter-row')!,
        text: tr.textContent ?? '',
      }));
      expect(row.text).toContain('schema');
      expect(row.text).toContain(`${topic} / `);
      expect(await text(page, '[data-testid="letter-preview"]')).toContain(attack);
      expect(
        await page.evaluate(() => ({
          pwned: (window as { __pwned?: number }).__pwned,
          injected: document.querySelectorAll('[data-testid="letters"] script, [data-testid="letters"] img').length,
        })),
      ).toEqual({ pwned: undefined, injected: 0 });

      // The operator fixes the amount and re-drives; then re-drives again.
      await page.click(`input[data-letter="${row.id}"]`);
      await page.click(`button[data-letter-edit-toggle="${row.id}"]`);
      await page.$eval(
        `textarea[data-letter-edit="${row.id}"]`,
        (area, fixed) => (area.value = fixed),
        JSON.stringify(txn(4, 10, 'm4')),
      );
      await page.click('[data-testid="redrive"]');
      await page.waitForSelector(`tr[data-outcome="${row.id}"] .badge`);
      expect(await text(page, `tr[data-outcome="${row.id}"]`)).toContain('redriven');
      const marked = `tr[data-letter-row="${row.id}"] [data-testid="letter-redriven"]`;
      expect(await text(page, marked)).toMatch(new RegExp(`^re-driven \\d{4}-.* → ${topic}\\[\\d\\]@\\d+, edited$`));
      await page.click('[data-testid="redrive"]');
      await page.waitForFunction(
        (id) => document.querySelector(`tr[data-outcome="${id}"]`)?.textContent?.includes('already-redriven'),
        {},
        row.id,
      );
      await page.screenshot({ path: join(SHOTS, 'dead-letters-1280x800.png'), fullPage: true });

      // A second console (another transactional id holder, fresh ledger read) refuses it too, even asked twice at once.
      const other = new Redriver(kafka, new DeadLetterBook(), ledgerTopic);
      const again = await Promise.all([
        other.redrive([{ id: row.id }]),
        other.redrive([{ id: row.id }, { id: row.id }]),
      ]);
      await other.close();
      expect(again.flat().map((o) => o.status)).toEqual(['already-redriven', 'already-redriven', 'already-redriven']);

      // A page loaded later lists the letter as re-driven; so does a read-only console started later, from the ledger.
      const reloaded = await openPage('#dead-letters');
      await reloaded.waitForSelector(marked);
      await reloaded.close();
      const later = new ConsoleState(kafka, redis, admin, { ...settings(), metricsUrls: [] });
      await later.start();
      try {
        const start = Date.now();
        const listed = () => later.letters.list().find((l) => l.id === row.id);
        while (!listed()?.redriven && Date.now() - start < 30_000) await new Promise((r) => setTimeout(r, 200));
        expect(listed()?.redriven).toEqual({
          at: expect.any(Number),
          edited: true,
          to: expect.stringMatching(new RegExp(`^${topic}\\[\\d\\]@\\d+$`)),
        });
      } finally {
        await later.stop();
      }

      await produce([txn(5, 1)]); // a later event: once it is in Redis, everything before it is too
      await caughtUp();
      await lookUp(page, 'alice');
      expect(await onlineCount(page)).toBe('5'); // 3 + the re-driven fix + the later event: the fix counted once
      expect(dialogs).toEqual([]);
      expect(pageErrors).toEqual([]);
      await page.close();
    },
  );

  it('re-drive is refused unless enabled, and from any other origin; pages carry a script-blocking CSP', async () => {
    const post = (target: FastifyInstance, origin?: string) =>
      target.inject({
        method: 'POST',
        url: '/api/redrive',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        payload: { letters: [{ id: `${topic}:0:0` }] },
      });
    const readOnly = createConsoleApp({
      state,
      featureSets: [pipelineInput(topic, userTransactionFeatures)],
      resultsFile: RESULTS_FIXTURE,
      allowRedrive: false,
    });
    const off = await post(readOnly);
    expect([off.statusCode, off.json()]).toEqual([
      403,
      { error: 're-drive is off: start the console with --allow-redrive to enable it' },
    ]);
    await readOnly.close();
    expect((await post(app, 'http://evil.example')).statusCode).toBe(403);
    const page = await app.inject({ url: '/' });
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('renders feature sets from their definitions and the scenario results file', async () => {
    const page = await openPage('#feature-sets');
    await page.waitForSelector('[data-testid="feature-set-user_txn"]');
    const definition = await text(page, '[data-testid="feature-set-user_txn"]');
    for (const { name, spec } of userTransactionFeatures.aggregates)
      expect(definition).toContain(`${name}${spec.kind}`);
    expect(definition).toContain('sliding 1d'); // amount_sum_24h: duration.hours(24)
    // The example set declares no maxAge, default expiry.
    expect(definition).toContain('never stale · expires after 30d');
    await page.goto(`${url}/#scenario`);
    await page.waitForSelector('[data-testid="look-ahead"]');
    expect(await text(page, '[data-testid="look-ahead"]')).toMatch(/naive latest value.*0\.985.*0\.639/);
    expect(await text(page, '[data-testid="skew"]')).toContain('log_amount reimpl.');
    expect(await text(page, '[data-testid="staleness"]')).toContain('12.2 %');
    await page.close();
  });

  it('renders every page at 1280×800 and on a narrow screen without horizontal overflow of the page', async () => {
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      const ready = {
        pipeline: 'groups',
        'dead-letters': 'letters',
        'entity?id=alice': 'served',
        'feature-sets': 'feature-set-user_txn',
        scenario: 'staleness',
      };
      for (const [name, testId] of Object.entries(ready)) {
        const page = await openPage(`#${name}`, width, height);
        await page.waitForSelector(`[data-testid="${testId}"]`, { timeout: 30_000 });
        // Elements sticking out of the viewport, named so a failure says what to fix.
        const overflowing = await page.evaluate(() =>
          Array.from(document.querySelectorAll('body *'))
            .filter(
              (node) =>
                node.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5 &&
                !node.closest('.scroll'),
            )
            .map((node) => `${node.tagName.toLowerCase()}.${node.className}`)
            .slice(0, 5),
        );
        expect(overflowing, `${name} at ${width}px`).toEqual([]);
        await page.screenshot({ path: join(SHOTS, `${name.split('?')[0]}-${width}x${height}.png`), fullPage: true });
        await page.close();
      }
    }
    expect(pageErrors).toEqual([]);
    await openPage('#pipeline'); // left open: afterAll's app.close() must end its event stream, or it hangs
  });
});

import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTlsMaterial } from './tls-material.js';

const cache = mkdtempSync(join(tmpdir(), 'rtml-tls-cache-'));
const previous = process.env.RTML_CACHE_DIR;
beforeAll(() => {
  process.env.RTML_CACHE_DIR = cache;
});
afterAll(() => {
  if (previous === undefined) delete process.env.RTML_CACHE_DIR;
  else process.env.RTML_CACHE_DIR = previous;
  rmSync(cache, { recursive: true, force: true });
});

const certificate = (file: string) => new X509Certificate(readFileSync(file));

describe("the secure stack's throwaway CA", () => {
  it('signs a server certificate for localhost and 127.0.0.1 and a client certificate, made once in the cache', () => {
    const material = ensureTlsMaterial();
    expect(material.dir).toBe(join(cache, 'tls'));
    const ca = certificate(material.caFile);
    const server = certificate(material.serverCertFile);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate(material.clientCertFile).verify(ca.publicKey)).toBe(true);
    expect(readFileSync(material.serverKeystoreFile, 'utf8')).toMatch(
      /^-----BEGIN PRIVATE KEY-----[\s\S]*-----BEGIN CERTIFICATE-----/,
    );
    expect(ensureTlsMaterial().caFile).toBe(material.caFile);
    expect(certificate(ensureTlsMaterial().caFile).fingerprint256).toBe(ca.fingerprint256);
  });

  it('makes new material when the cached server certificate is about to expire', () => {
    const material = ensureTlsMaterial();
    const oldCa = certificate(material.caFile).fingerprint256;
    // Replace the server certificate with one valid for one day (less than a day left).
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      material.serverKeyFile,
      '-out',
      material.serverCertFile,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ]);
    expect(made.status).toBe(0);
    const renewed = ensureTlsMaterial();
    expect(Date.parse(certificate(renewed.serverCertFile).validTo)).toBeGreaterThan(Date.now() + 800 * 86_400_000);
    expect(certificate(renewed.caFile).fingerprint256).not.toBe(oldCa);
  });
});

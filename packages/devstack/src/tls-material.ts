import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './kafka-native.js';
import { commandExists, DevstackError, progress, runLogged } from './process.js';

/**
 * A throwaway certificate authority and the certificates signed by it, for the secure dev stack only. Made
 * once with openssl in the cache (`~/.cache/rtml/tls`, never in the repository) and reused by every stack.
 */
export interface TlsMaterial {
  readonly dir: string;
  /** What clients trust (KAFKA_TLS_CA_FILE, REDIS_TLS_CA_FILE). */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** Key and certificate in one PEM file: Kafka's `ssl.keystore.type=PEM` form. */
  readonly serverKeystoreFile: string;
  /** A client certificate signed by the same CA (for the optional client-certificate settings). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

function materialIn(dir: string): TlsMaterial {
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    serverKeystoreFile: join(dir, 'server-keystore.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

/** The cached material, generated on first use; written to a temporary directory and renamed, so never half-made. */
export function ensureTlsMaterial(): TlsMaterial {
  const dir = join(cacheRoot(), 'tls');
  if (existsSync(join(dir, '.complete'))) {
    if (!expiresWithinADay(materialIn(dir).serverCertFile)) return materialIn(dir);
    progress(`secure: the cached server certificate in ${dir} expires; making new material`);
    rmSync(dir, { recursive: true, force: true });
  }
  if (!commandExists('openssl'))
    throw new DevstackError('secure: making a throwaway CA', "'openssl' is not on PATH (apt-get install openssl)");
  mkdirSync(cacheRoot(), { recursive: true });
  const work = mkdtempSync(join(cacheRoot(), 'tls-'));
  progress(`secure: making a throwaway CA and certificates for localhost in ${dir} (first secure start only)`);
  generate(materialIn(work), join(work, 'openssl.log'));
  writeFileSync(join(work, '.complete'), 'ok\n');
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another process finished first: use its material
  }
  return materialIn(dir);
}

/** Certificates are made for 825 days; a stack started after that gets new ones instead of TLS errors. */
function expiresWithinADay(certFile: string): boolean {
  return Date.parse(new X509Certificate(readFileSync(certFile)).validTo) - Date.now() < 86_400_000;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function generate(material: TlsMaterial, logFile: string): void {
  const step = 'secure: making certificates with openssl';
  const caKey = join(material.dir, 'ca.key');
  runLogged(
    step,
    'openssl',
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      caKey,
      '-out',
      material.caFile,
      '-days',
      '3650',
      '-subj',
      '/CN=rtml devstack throwaway CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    logFile,
  );
  sign(
    material,
    'server',
    material.serverKeyFile,
    material.serverCertFile,
    'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
    logFile,
  );
  sign(material, 'client', material.clientKeyFile, material.clientCertFile, 'extendedKeyUsage=clientAuth\n', logFile);
  writeFileSync(
    material.serverKeystoreFile,
    readFileSync(material.serverKeyFile, 'utf8') + readFileSync(material.serverCertFile, 'utf8'),
    { mode: 0o600 },
  );
}

/** A key and a certificate for `name`, signed by the CA, with the given X.509 extensions. */
function sign(
  material: TlsMaterial,
  name: string,
  keyFile: string,
  certFile: string,
  extensions: string,
  logFile: string,
): void {
  const step = `secure: making the ${name} certificate with openssl`;
  const request = join(material.dir, `${name}.csr`);
  const extFile = join(material.dir, `${name}.ext`);
  writeFileSync(extFile, extensions);
  runLogged(
    step,
    'openssl',
    [
      'req',
      ...EC_KEY,
      '-keyout',
      keyFile,
      '-out',
      request,
      '-subj',
      name === 'server' ? '/CN=localhost' : '/CN=rtml-client',
    ],
    logFile,
  );
  runLogged(
    step,
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      material.caFile,
      '-CAkey',
      join(material.dir, 'ca.key'),
      '-CAcreateserial',
      '-out',
      certFile,
      '-days',
      '825',
      '-extfile',
      extFile,
    ],
    logFile,
  );
}

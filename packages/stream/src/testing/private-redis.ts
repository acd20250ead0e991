import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@rtml/devstack';
import { Redis } from 'ioredis';

/**
 * A redis-server of the test's own, which the test may FLUSHALL or restart without touching the Redis every other
 * test file shares. `persistent`: an append-only file fsynced on every write, so a SIGKILL loses nothing.
 */
export class PrivateRedis {
  private server: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'rtml-private-redis-'));
  private constructor(
    readonly port: number,
    private readonly persistent: boolean,
  ) {}

  static async start(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), options.persistent ?? false);
    await redis.launch();
    return redis;
  }

  /** SIGKILL and start again on the same port, with the data it had persisted. */
  async restartWithData(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** SIGKILL and start again on the same port: the data is gone, as after a crash of a Redis without persistence. */
  async restartEmpty(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
    await this.launch();
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  }

  /** Stops the server and deletes its files. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const persistence = this.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    mkdirSync(this.dir, { recursive: true });
    this.server = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--dir', this.dir, ...persistence],
      { stdio: 'ignore' },
    );
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch (error) {
          if (attempt > 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    } finally {
      probe.disconnect();
    }
  }
}

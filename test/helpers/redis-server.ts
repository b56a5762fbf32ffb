/**
 * A real redis-server for tests: on a free loopback port, with its own temporary folder (its append-only
 * file lives there), stopped after. Tests of the queue use it, never a mock. Where redis-server is not
 * installed those tests are skipped, except with RANDLAB_REQUIRE_REDIS=1 (CI, .ci/run), where its absence fails them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { makeTempDir } from './data-fixtures.js';

export const REQUIRE_REDIS_ENV = 'RANDLAB_REQUIRE_REDIS';

/** Whether redis-server is on the PATH; with RANDLAB_REQUIRE_REDIS=1 its absence is an error. */
export function redisAvailable(): boolean {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
  if (!found && process.env[REQUIRE_REDIS_ENV] === '1')
    throw new Error(`${REQUIRE_REDIS_ENV}=1 but redis-server is not installed (apt-get install redis-server)`);
  return found;
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT, with the password when it has one. */
  readonly url: string;
  /** Its working folder (append-only file, dumps). */
  readonly dir: string;
  /** Stops it gracefully (SHUTDOWN on SIGTERM: the append-only file is complete) and starts it again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function launch(port: number, dir: string, options: { appendOnly: boolean; password?: string }): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no');
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code}:\n${output}`)));
  });
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function startRedis(options: { appendOnly?: boolean; password?: string } = {}): Promise<RedisServer> {
  const temp = makeTempDir('redis');
  const port = await freePort();
  const settings = {
    appendOnly: options.appendOnly ?? false,
    ...(options.password ? { password: options.password } : {}),
  };
  let child = await launch(port, temp.dir, settings);
  const auth = options.password !== undefined ? `:${options.password}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    dir: temp.dir,
    async restart() {
      await stopped(child);
      child = await launch(port, temp.dir, settings);
    },
    async stop() {
      await stopped(child);
      temp.cleanup();
    },
  };
}

/**
 * The parts of the queue that need no Redis: queue URLs (passwords, TLS, databases) and what a worker
 * refuses (src/experiments/queue/connection.ts, jobs.ts). The queue itself: queue.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQueueUrl } from '../src/experiments/queue/connection.js';
import { dataFingerprint, randlabVersion, refusal, type RunJobData } from '../src/experiments/queue/jobs.js';
import { makeTempDir } from './helpers/data-fixtures.js';

const temp = makeTempDir('queue-jobs');
afterAll(() => temp.cleanup());

describe('a queue URL', () => {
  it('gives host, port, database and password to the connection, and shows the password masked', () => {
    const { options, display } = parseQueueUrl('redis://:s%40cret@queue.lab:6380/2');
    expect(options).toMatchObject({
      host: 'queue.lab',
      port: 6380,
      db: 2,
      password: 's@cret',
      maxRetriesPerRequest: null,
    });
    expect(options.tls).toBeUndefined();
    expect(display).toBe('redis://:***@queue.lab:6380/2');
  });

  it('with rediss:// connects over TLS, checking the host name; a user name is kept', () => {
    const { options, display } = parseQueueUrl('rediss://worker:pw@redis.example.org');
    expect(options).toMatchObject({ host: 'redis.example.org', port: 6379, db: 0, username: 'worker', password: 'pw' });
    expect(options.tls).toEqual({ servername: 'redis.example.org' });
    expect(display).toBe('rediss://worker:***@redis.example.org');
  });

  it.each([
    ['http://:pw-one@host:6379', /scheme redis:\/\/ or rediss:\/\//],
    ['redis://:pw-two@host:6379/x', /database 'x'/],
    ['redis://:pw-three@host:notaport', /is not a URL/],
  ])('%s is refused, naming what is wrong and not the password', (url, message) => {
    expect(() => parseQueueUrl(url)).toThrow(message);
    try {
      parseQueueUrl(url);
    } catch (error) {
      expect((error as Error).message).not.toMatch(/pw-(one|two|three)/);
    }
  });
});

describe('a worker refuses a job', () => {
  const job = (fields: Partial<RunJobData>): RunJobData => ({
    experiment: 'e',
    key: 'k',
    runId: 'run-1',
    kind: 'train',
    recipe: 'r',
    scale: 'smoke',
    dependsOn: [],
    randlabVersion: randlabVersion(),
    data: {},
    ...fields,
  });

  it('of another randlab version or with other data, saying which; not its own', () => {
    const root = join(temp.dir, 'data');
    mkdirSync(join(root, 'set'), { recursive: true });
    writeFileSync(join(root, 'set', 'a.bin'), 'abc');
    const here = { version: randlabVersion(), data: (dataset: string) => dataFingerprint(root, dataset) };
    const seen = dataFingerprint(root, 'set');
    expect(refusal(job({ data: { set: seen, 'gaussian:x': 'synthetic gaussian:x' } }), here)).toBeUndefined();
    expect(refusal(job({ randlabVersion: '9.9.9' }), here)).toMatch(/enqueued by randlab 9\.9\.9, this worker runs/);
    writeFileSync(join(root, 'set', 'a.bin'), 'abcd'); // another version of the file
    expect(refusal(job({ data: { set: seen } }), here)).toMatch(/needs data set set as the coordinator saw it/);
    expect(refusal(job({ data: { other: seen } }), here)).toMatch(/this worker's data root has missing/);
  });
});

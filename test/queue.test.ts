/**
 * Experiments on the queue (src/experiments/queue/): a real redis-server (test/helpers/redis-server.ts),
 * real `randlab worker` processes, each in its own working folder (standing for a host) with one shared
 * `--storage`, and a real coordinator (`randlab experiment … --queue`); each fault is made the way it
 * happens (a kill, a signal, a stopped process, a restart of Redis) and the experiment must still end with
 * the same results as a local `--jobs 1` run.
 *
 * The recipe is fig20-gaussian-fc at smoke scale with one seed (no data set): three training runs of 72 steps
 * and a compute run after each. One kernel thread everywhere: results are bit-identical for one thread count.
 * Each test has its own Redis database, so no test's jobs reach another's workers.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockExperimentFolder } from '../src/experiments/experiment.js';
import { getRecipe } from '../src/experiments/recipes/index.js';
import { parseQueueUrl } from '../src/experiments/queue/connection.js';
import { experimentKey, jobId, QUEUE_NAME, randlabVersion, type RunJobData } from '../src/experiments/queue/jobs.js';
import { readFolderRecord } from '../src/runs/folder-record.js';
import { RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { startCli, type Ended, type Running } from './helpers/experiment-cli.js';
import { redisAvailable, startRedis, type RedisServer } from './helpers/redis-server.js';
import { finalWeights } from './runs-fixtures.js';

const RECIPE = 'fig20-gaussian-fc';
const SMOKE = [RECIPE, '--scale', 'smoke', '--seeds', '1', '--data-dir', '/nonexistent'];
const FOLDER = `${RECIPE}-smoke`;
const PLAN = getRecipe(RECIPE).plan('smoke', [0], '/nonexistent');
const TRAINS = PLAN.filter((spec) => spec.kind === 'train').map((spec) => spec.id);
const FIRST_TRAIN = TRAINS[0]!;
/** Short job locks, so a dead worker's job stalls within seconds. */
const ENV = { RANDLAB_THREADS: '1', RANDLAB_QUEUE_LOCK_MS: '2000', RANDLAB_QUEUE_STALLED_MS: '500' };

const temp = makeTempDir('queue');
let redis: RedisServer;
let database = 0;
const reference = join(temp.dir, 'reference');
const started: Running[] = [];

/** A URL of the next Redis database: one per test. */
function nextUrl(server: RedisServer = redis): string {
  database++;
  return `${server.url}/${database}`;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; detached?: boolean } = {}) {
  const running = startCli(args, { ...ENV, ...env }, options);
  started.push(running);
  return running;
}

/** A worker in its own working folder `host` (as on another host), leading its own process group. */
function worker(url: string, storage: string, host: string, env: NodeJS.ProcessEnv = {}): Running {
  const cwd = join(temp.dir, host);
  mkdirSync(cwd, { recursive: true });
  return run(['worker', '--queue', url, '--storage', storage, '--data-dir', '/nonexistent'], env, {
    cwd,
    detached: true,
  });
}

function coordinator(url: string, storage: string, extra: readonly string[] = []): Running {
  return run(['experiment', ...SMOKE, '--queue', url, '--storage', storage, '--interval', '0.5', ...extra]);
}

async function until(what: string, condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function runDir(storage: string, id: string): string {
  return join(storage, FOLDER, 'store', id);
}

/** Whether the trainer of run `id` has started (its config is written once it holds the run's lease). */
const trainingStarted = (storage: string, id: string) => () => existsSync(join(runDir(storage, id), 'config.json'));

function succeeded(ended: Ended, what: string): void {
  if (ended.code !== 0)
    throw new Error(`${what} exited ${ended.code ?? ended.signal}:\n${ended.stdout}\n${ended.stderr}`);
}

/** Stops workers as a user would (SIGTERM); resolves when they have ended. */
async function stop(...workers: Running[]): Promise<void> {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.ended));
}

function weightDigests(out: string, runId: string): Map<string, string> {
  const store = RunStore.open(join(out, 'store'), { indexPath: join(temp.dir, `digest-${Math.random()}.sqlite`) });
  try {
    return new Map(
      [...finalWeights(store, runId)].map(([key, bytes]) => [key, createHash('sha256').update(bytes).digest('hex')]),
    );
  } finally {
    store.close();
  }
}

/** The experiment ended as the reference: every run finished, the same measurements and final weights. */
function expectSameAsReference(storage: string): void {
  const out = join(storage, FOLDER);
  for (const spec of PLAN) expect(readFolderRecord(runDir(storage, spec.id))?.status, spec.id).toBe('finished');
  expect(readFileSync(join(out, 'report', 'measurements.csv'), 'utf8')).toBe(
    readFileSync(join(reference, 'report', 'measurements.csv'), 'utf8'),
  );
  for (const id of TRAINS) expect(weightDigests(out, id), id).toEqual(weightDigests(reference, id));
}

/** How often the trainer logged starting or resuming run `id` (its log in the experiment folder). */
function trainings(storage: string, id: string): { starts: number; resumes: string[] } {
  const log = readFileSync(join(storage, FOLDER, 'logs', `${id}.log`), 'utf8');
  return {
    starts: log.split(`${id}: starting (`).length - 1,
    resumes: [...log.matchAll(new RegExp(`${id}: resuming at step (\\d+)`, 'g'))].map((m) => m[1]!),
  };
}

/** The pids of the processes that trained (attempts of) run `id`, from its log. */
function trainedBy(storage: string, id: string): number[] {
  const log = readFileSync(join(storage, FOLDER, 'logs', `${id}.log`), 'utf8');
  return [...log.matchAll(/^run process (\d+): run /gm)].map((match) => Number(match[1]));
}

async function jobOf(url: string, storage: string, runId: string) {
  const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: parseQueueUrl(url).options });
  try {
    const manifest = JSON.parse(readFileSync(join(storage, FOLDER, 'experiment.json'), 'utf8')) as {
      createdAt: string;
    };
    const job = await queue.getJob(jobId(runId, experimentKey(FOLDER, manifest.createdAt)));
    if (!job) throw new Error(`no job of run ${runId}`);
    return { state: await job.getState(), attemptsMade: job.attemptsMade, failedReason: job.failedReason };
  } finally {
    await queue.close();
  }
}

const available = redisAvailable();

describe.skipIf(!available)('experiments on a Redis queue', () => {
  beforeAll(async () => {
    redis = await startRedis();
    succeeded(await run(['experiment', ...SMOKE, '--jobs', '1', '--out', reference]).ended, 'reference experiment');
  }, 120_000);

  afterAll(async () => {
    for (const running of started)
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    await redis?.stop();
    temp.cleanup();
  });

  it('two workers run an experiment to the same results as --jobs 1; status and report work', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'two-workers');
    const workers = [worker(url, storage, 'two-a'), worker(url, storage, 'two-b')];
    const ended = await coordinator(url, storage).ended;
    succeeded(ended, 'coordinator');
    expect(ended.stdout).toMatch(/done \d, running \d, waiting \d, failed 0; ETA/);
    await stop(...workers);
    expectSameAsReference(storage);
    // Both hosts trained runs.
    for (const w of workers) expect(w.stdout()).toMatch(/finished in/);
    const status = await run(['experiment', 'status', join(storage, FOLDER)]).ended;
    expect(status.stdout).toContain(`${PLAN.length} runs, ${PLAN.length} finished`);
  }, 120_000);

  it('(a) a worker SIGKILLed mid-run: another takes the stalled job and the weights equal an uninterrupted run', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'sigkill');
    const experiment = coordinator(url, storage);
    const doomed = worker(url, storage, 'kill-a');
    await until('the first run trains', trainingStarted(storage, FIRST_TRAIN));
    process.kill(-doomed.child.pid!, 'SIGKILL'); // the worker and its run's process, as when a host dies
    await doomed.ended;
    expect(readFolderRecord(runDir(storage, FIRST_TRAIN))?.status).not.toBe('finished');
    const survivor = worker(url, storage, 'kill-b');
    succeeded(await experiment.ended, 'coordinator');
    await stop(survivor);
    expect(survivor.stdout()).toContain(`run ${FIRST_TRAIN} finished`);
    expectSameAsReference(storage);
  }, 120_000);

  it('a worker trains run after run in one child process; one that dies mid-run is replaced and its run retried', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'child-killed');
    const experiment = coordinator(url, storage);
    const w = worker(url, storage, 'child-a');
    await until('the first run trains', trainingStarted(storage, FIRST_TRAIN));
    const [doomed] = trainedBy(storage, FIRST_TRAIN);
    process.kill(doomed!, 'SIGKILL'); // the run's process only: its worker lives on
    succeeded(await experiment.ended, 'coordinator');
    await stop(w);
    expect(w.stdout()).toContain(`run ${FIRST_TRAIN} finished`);
    const [first, retried, ...more] = trainedBy(storage, FIRST_TRAIN);
    expect({ first, more }).toEqual({ first: doomed, more: [] });
    expect(retried).not.toBe(doomed);
    // Every other run was trained by a process that trained others too: the one that replaced the dead one.
    const others = PLAN.filter((spec) => spec.id !== FIRST_TRAIN).flatMap((spec) => trainedBy(storage, spec.id));
    expect(new Set(others)).toEqual(new Set([retried]));
    expect((await jobOf(url, storage, FIRST_TRAIN)).attemptsMade).toBe(2);
    expectSameAsReference(storage);
  }, 120_000);

  it('(b) a job delivered to two workers at once is trained by one: the lease refuses the other, which retries later', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'double');
    const experiment = coordinator(url, storage);
    const first = worker(url, storage, 'double-a');
    await until('the first run trains', trainingStarted(storage, FIRST_TRAIN));
    // Stopped, the first worker renews neither the job's lock nor the run's lease: the job stalls and goes
    // to the second worker while the first still holds the run (its process is alive, only stopped).
    process.kill(-first.child.pid!, 'SIGSTOP');
    const second = worker(url, storage, 'double-b');
    try {
      await until('the second worker is refused the run', () =>
        second.stdout().includes(`run ${FIRST_TRAIN} is held by another process`),
      );
      const job = await jobOf(url, storage, FIRST_TRAIN);
      expect(job.failedReason ?? '').toBe('');
      expect(['delayed', 'waiting', 'active']).toContain(job.state);
    } finally {
      process.kill(-first.child.pid!, 'SIGCONT');
    }
    succeeded(await experiment.ended, 'coordinator');
    await stop(first, second);
    expect(trainings(storage, FIRST_TRAIN)).toEqual({ starts: 1, resumes: [] });
    expect((await jobOf(url, storage, FIRST_TRAIN)).state).toBe('completed');
    expectSameAsReference(storage);
  }, 120_000);

  it('(c) a worker SIGTERMed: its run checkpoints, the job is requeued at once and another worker resumes it', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'sigterm');
    const experiment = coordinator(url, storage);
    const first = worker(url, storage, 'term-a', { RANDLAB_QUEUE_LOCK_MS: '60000' });
    await until('the first run trains', trainingStarted(storage, FIRST_TRAIN));
    const signalled = performance.now();
    first.child.kill('SIGTERM');
    const ended = await first.ended;
    expect({ code: ended.code, signal: ended.signal }, ended.stderr).toEqual({ code: null, signal: 'SIGTERM' });
    expect((performance.now() - signalled) / 1000).toBeLessThan(10);
    const record = readFolderRecord(runDir(storage, FIRST_TRAIN))!;
    expect(record.status).toBe('stopped');
    // Back in the queue at once: waiting, not active until its 60 s lock would have lapsed.
    expect((await jobOf(url, storage, FIRST_TRAIN)).state).toBe('waiting');
    const second = worker(url, storage, 'term-b');
    succeeded(await experiment.ended, 'coordinator');
    await stop(second);
    expect(trainings(storage, FIRST_TRAIN)).toEqual({ starts: 1, resumes: [String(record.step)] });
    expectSameAsReference(storage);
  }, 120_000);

  it('(d) a coordinator killed and started again enqueues nothing twice', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'coordinator');
    const first = coordinator(url, storage);
    await first.printed(`${PLAN.length} enqueued`);
    first.child.kill('SIGKILL');
    await first.ended;
    const again = coordinator(url, storage);
    await again.printed('0 enqueued');
    const w = worker(url, storage, 'coord-a');
    succeeded(await again.ended, 'coordinator started again');
    await stop(w);
    for (const spec of PLAN) expect(w.stdout().split(`run ${spec.id} finished`).length - 1, spec.id).toBe(1);
    expectSameAsReference(storage);
  }, 120_000);

  it('(e) a run that fails 3 times is failed with its error; its dependant is not run; the others finish', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'failing');
    // The first run's log cannot be written (a folder has its name): each attempt fails before training.
    mkdirSync(join(storage, FOLDER, 'logs', `${FIRST_TRAIN}.log`), { recursive: true });
    const w = worker(url, storage, 'fail-a');
    const ended = await coordinator(url, storage).ended;
    await stop(w);
    expect(ended.code, ended.stderr).toBe(1);
    const job = await jobOf(url, storage, FIRST_TRAIN);
    expect({ state: job.state, attemptsMade: job.attemptsMade }).toEqual({ state: 'failed', attemptsMade: 3 });
    const dependant = PLAN.find((spec) => spec.dependsOn.includes(FIRST_TRAIN))!.id;
    expect(existsSync(join(storage, FOLDER, 'logs', `${dependant}.log`)), 'the dependant never ran').toBe(false);
    const failed = readFolderRecord(runDir(storage, FIRST_TRAIN))!;
    expect(failed.status).toBe('failed');
    expect(failed.message).toContain(`${FIRST_TRAIN}.log`);
    expect(readFolderRecord(runDir(storage, dependant))?.status).toBe('failed');
    for (const spec of PLAN.filter((s) => s.id !== FIRST_TRAIN && s.id !== dependant))
      expect(readFolderRecord(runDir(storage, spec.id))?.status, spec.id).toBe('finished');
    const status = await run(['experiment', 'status', join(storage, FOLDER)]).ended;
    expect(status.stdout).toMatch(new RegExp(`failed +${FIRST_TRAIN} .*${FIRST_TRAIN}\\.log`));
    expect(readFileSync(join(storage, FOLDER, 'report', 'index.html'), 'utf8')).toContain(`${FIRST_TRAIN}.log`);

    // Mended, the failed runs stay failed for a coordinator started again, unless it is told to retry them.
    rmSync(join(storage, FOLDER, 'logs', `${FIRST_TRAIN}.log`), { recursive: true });
    const mended = worker(url, storage, 'fail-b');
    const again = await coordinator(url, storage).ended;
    expect(again.code, again.stderr).toBe(1);
    expect(again.stdout).toContain('0 enqueued');
    const retried = await coordinator(url, storage, ['--retry-failed']).ended;
    succeeded(retried, 'coordinator --retry-failed');
    await stop(mended);
    expect(retried.stdout).toContain(`retrying 2 failed run(s): ${FIRST_TRAIN}, ${dependant}`);
    expect(retried.stdout).toContain('2 enqueued');
    expectSameAsReference(storage);
  }, 180_000);

  it('randlab report of a queued experiment counts every run the workers finished, with or without its coordinator', async () => {
    const url = nextUrl();
    const storage = join(temp.dir, 'report');
    const dir = join(storage, FOLDER);
    succeeded(await coordinator(url, storage, ['--detach']).ended, 'coordinator --detach');
    const w = worker(url, storage, 'report-a');
    await until('every run has finished', () =>
      PLAN.every((spec) => readFolderRecord(runDir(storage, spec.id))?.status === 'finished'),
    );
    await stop(w);
    const indexed = () => {
      const store = RunStore.openReadOnly(join(dir, 'store'));
      try {
        return PLAN.filter((spec) => store.getRun(spec.id)?.status === 'finished').length;
      } finally {
        store.close();
      }
    };
    expect(indexed(), 'the detached coordinator indexed no finished run').toBe(0);
    // While another process owns the folder (a coordinator following), its index is left to it.
    const owner = lockExperimentFolder(dir);
    try {
      succeeded(await run(['report', dir]).ended, 'report of a folder in use');
    } finally {
      owner.release();
    }
    expect(indexed()).toBe(0);
    expectSameAsReference(storage);
    rmSync(join(dir, 'report'), { recursive: true });
    succeeded(await run(['report', dir]).ended, 'report');
    expect(indexed()).toBe(PLAN.length);
    expectSameAsReference(storage);
  }, 120_000);

  it.each([
    ['another randlab version', { randlabVersion: '0.0.0-other', data: {} }, 'enqueued by randlab 0.0.0-other'],
    [
      'other data',
      { randlabVersion: randlabVersion(), data: { cifar10: 'files 0123456789abcdef' } },
      'data set cifar10',
    ],
  ])(
    '(f) a worker refuses a job of %s, with a clear message, and gives it back',
    async (_, fields, message) => {
      const url = nextUrl();
      const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: parseQueueUrl(url).options });
      try {
        const data: RunJobData = {
          experiment: FOLDER,
          key: 'test',
          runId: FIRST_TRAIN,
          kind: 'train',
          recipe: RECIPE,
          scale: 'smoke',
          dependsOn: [],
          ...fields,
        };
        await queue.add(FIRST_TRAIN, data, { jobId: jobId(FIRST_TRAIN, 'test') });
        const storage = join(temp.dir, `refused-${database}`);
        const ended = await worker(url, storage, `refuse-${database}`).ended;
        expect(ended.code).toBe(2);
        expect(ended.stderr).toContain(message);
        const job = await queue.getJob(jobId(FIRST_TRAIN, 'test'));
        expect(await job!.getState()).toBe('waiting');
        expect(existsSync(runDir(storage, FIRST_TRAIN))).toBe(false);
      } finally {
        await queue.close();
      }
    },
    60_000,
  );

  it('(g) Redis restarted (append-only file on): no run is lost', async () => {
    const durable = await startRedis({ appendOnly: true });
    try {
      const url = `${durable.url}/0`;
      const storage = join(temp.dir, 'restart');
      const experiment = coordinator(url, storage);
      const w = worker(url, storage, 'restart-a');
      await until('a run has finished', () => readFolderRecord(runDir(storage, FIRST_TRAIN))?.status === 'finished');
      await durable.restart();
      succeeded(await experiment.ended, 'coordinator');
      await stop(w);
      expectSameAsReference(storage);
    } finally {
      await durable.stop();
    }
  }, 120_000);

  it('a password in the queue URL reaches Redis and nothing written: no log, run config, job data or report', async () => {
    const secret = 'pw-7c1e-secret';
    const guarded = await startRedis({ password: secret });
    try {
      const url = `${guarded.url}/0`;
      const storage = join(temp.dir, 'password');
      // The worker takes the URL from the environment (out of `ps`), the coordinator from --queue.
      mkdirSync(join(temp.dir, 'password-a'), { recursive: true });
      const w = run(
        ['worker', '--storage', storage, '--data-dir', '/nonexistent'],
        { RANDLAB_QUEUE: url },
        {
          cwd: join(temp.dir, 'password-a'),
        },
      );
      const ended = await coordinator(url, storage).ended;
      succeeded(ended, 'coordinator');
      await stop(w);
      const outputs = [ended.stdout, ended.stderr, w.stdout()].join('\n');
      expect(outputs).toContain(`redis://:***@127.0.0.1:${guarded.port}`);
      expect(outputs).not.toContain(secret);
      const written = [...filesUnder(storage), ...filesUnder(join(temp.dir, 'password-a'))];
      expect(written.length).toBeGreaterThan(10);
      for (const file of written) expect(readFileSync(file).includes(secret), file).toBe(false);
      const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: parseQueueUrl(url).options });
      try {
        const jobs = await queue.getJobs(['completed']);
        expect(jobs.length).toBe(PLAN.length);
        for (const job of jobs) expect(JSON.stringify(job.data)).not.toContain(secret);
      } finally {
        await queue.close();
      }
    } finally {
      await guarded.stop();
    }
  }, 120_000);
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

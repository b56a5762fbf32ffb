/**
 * `randlab experiment` stopped by SIGTERM, in this process (`--jobs 1`) and in workers (`--jobs 2`):
 * the runs in progress stop at a checkpoint and are recorded `stopped` (not failed), the locks are
 * released, no report is written, and the process ends by the signal; the next call resumes them and
 * their final weights equal an uninterrupted experiment's. (The job pool's handling of a run that stops:
 * experiments-framework.test.ts.)
 *
 * The recipe is fig20-gaussian-fc at smoke scale (no data set): training runs of 72 steps, about 0.4 s
 * each, so SIGTERM sent on a run's "starting" line reaches it mid-run. One kernel thread everywhere:
 * results are bit-identical for the same thread count only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExperiment } from '../src/experiments/experiment.js';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import { RUN_LOCK_FILE } from '../src/runs/lock.js';
import { RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { startCli, type Ended, type Running } from './helpers/experiment-cli.js';
import { finalWeights } from './runs-fixtures.js';

const STEPS = 72; // 12 epochs of 300 samples in batches of 50 (the recipe's smoke preset)
const temp = makeTempDir('experiment-stop');
afterAll(() => temp.cleanup());

function experiment(out: string, jobs: number): Running {
  const args = ['experiment', 'fig20-gaussian-fc', '--scale', 'smoke', '--seeds', '1', '--jobs', String(jobs)];
  return startCli([...args, '--out', out, '--data-dir', '/nonexistent'], { RANDLAB_THREADS: '1' });
}

async function completed(out: string, jobs: number): Promise<void> {
  const result = await experiment(out, jobs).ended;
  if (result.code !== 0)
    throw new Error(`experiment in ${out} exited ${result.code ?? result.signal}: ${result.stderr}`);
}

/**
 * The id of the first training run that has logged its start: on stdout in this process, in its log
 * file in a worker; undefined while none has.
 */
function startedRun(out: string, stdout: string): string | undefined {
  const starting = / {4}(\S+): starting \(/;
  const here = starting.exec(stdout)?.[1];
  if (here !== undefined) return here;
  const logs = join(out, 'logs');
  if (!existsSync(logs)) return undefined;
  for (const name of readdirSync(logs)) {
    const found = starting.exec(readFileSync(join(logs, name), 'utf8'))?.[1];
    if (found !== undefined) return found;
  }
  return undefined;
}

/** SHA-256 of each tensor of the run's last checkpoint. */
function weightDigests(out: string, runId: string): Map<string, string> {
  const store = RunStore.open(join(out, 'store'));
  try {
    return new Map(
      [...finalWeights(store, runId)].map(([key, bytes]) => [key, createHash('sha256').update(bytes).digest('hex')]),
    );
  } finally {
    store.close();
  }
}

/** Every train.lock (and temporary lock file) in the experiment's run folders. */
function runLocks(out: string): string[] {
  const store = join(out, 'store');
  return readdirSync(store, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => readdirSync(join(store, entry.name)).filter((name) => name.includes(RUN_LOCK_FILE)));
}

/**
 * Sends SIGTERM to `running` once a training run of the experiment in `out` has logged its start; the run
 * it interrupted, how the process ended, and the seconds from the signal to its end.
 */
async function stopWhenTraining(
  running: Running,
  out: string,
): Promise<{ interrupted: string | undefined; stopped: Ended; seconds: number }> {
  let interrupted: string | undefined;
  let done = false;
  void running.ended.then(() => (done = true));
  while ((interrupted = startedRun(out, running.stdout())) === undefined && !done)
    await new Promise((resolve) => setTimeout(resolve, 5));
  const signalledAt = performance.now();
  running.child.kill('SIGTERM');
  const stopped = await running.ended;
  return { interrupted, stopped, seconds: (performance.now() - signalledAt) / 1000 };
}

describe('randlab experiment stopped by SIGTERM', () => {
  const reference = join(temp.dir, 'uninterrupted');
  beforeAll(() => completed(reference, 1), 60_000);

  it.each([1, 2])(
    '--jobs %i: stops its runs at a checkpoint, ends by SIGTERM, and the next call resumes them exactly',
    async (jobs) => {
      const out = join(temp.dir, `stopped-jobs${jobs}`);
      const { interrupted, stopped, seconds } = await stopWhenTraining(experiment(out, jobs), out);
      expect(interrupted, 'a training run started').toBeDefined();

      expect({ code: stopped.code, signal: stopped.signal }, stopped.stderr).toEqual({ code: null, signal: 'SIGTERM' });
      expect(seconds).toBeLessThan(5);
      expect(stopped.stdout).toMatch(
        new RegExp(
          `stopped by SIGTERM: \\d+ run\\(s\\) stopped at a checkpoint, \\d+ not started, no report written; ` +
            `to continue, run: randlab experiment fig20-gaussian-fc --scale smoke --seeds 1${jobs > 1 ? ` --jobs ${jobs}` : ''} --out ${out} --data-dir /nonexistent\\n$`,
        ),
      );
      expect(existsSync(join(out, 'experiment.lock'))).toBe(false);
      expect(runLocks(out)).toEqual([]);
      expect(existsSync(join(out, 'report', 'index.html'))).toBe(false);
      const opened = openExperiment(out);
      try {
        const { store } = opened.context;
        const run = store.getRun(interrupted!)!;
        expect(run.status).toBe('stopped');
        expect(run.step).toBeLessThan(STEPS);
        expect(listCheckpoints(store.checkpointDir(interrupted!)).at(-1)?.step).toBe(run.step);
        // Whatever else had started stopped too; nothing is recorded as failed.
        expect(store.listRuns().filter((r) => r.status !== 'finished' && r.status !== 'stopped')).toEqual([]);
      } finally {
        opened.close();
      }

      await completed(out, jobs);
      const resumed = openExperiment(out);
      try {
        expect(resumed.context.store.listRuns().filter((r) => r.status !== 'finished')).toEqual([]);
        expect(
          resumed.context.store
            .listRuns()
            .map((r) => r.id)
            .sort(),
        ).toEqual(resumed.plan.map((s) => s.id).sort());
      } finally {
        resumed.close();
      }
      expect(existsSync(join(out, 'report', 'index.html'))).toBe(true);
      expect(weightDigests(out, interrupted!)).toEqual(weightDigests(reference, interrupted!));
    },
    60_000,
  );
});

describe('randlab demo stopped by SIGTERM', () => {
  it('stops its runs at a checkpoint, ends by SIGTERM and says how to continue', async () => {
    // Without CIFAR-10 the demo runs fig20-gaussian-fc at the demo scale: no data set needed.
    const out = join(temp.dir, 'demo');
    const demo = startCli(['demo', '--out', out, '--data-dir', '/nonexistent'], { RANDLAB_THREADS: '1' });
    const { interrupted, stopped, seconds } = await stopWhenTraining(demo, out);
    expect(interrupted, 'a training run started').toBeDefined();
    expect({ code: stopped.code, signal: stopped.signal }, stopped.stderr).toEqual({ code: null, signal: 'SIGTERM' });
    expect(seconds).toBeLessThan(5);
    expect(stopped.stdout).toMatch(
      new RegExp(
        `stopped by SIGTERM: 1 run\\(s\\) stopped at a checkpoint, \\d+ not started, no report written; ` +
          `to continue, run: randlab demo --out ${out} --data-dir /nonexistent\\n$`,
      ),
    );
    expect(existsSync(join(out, 'experiment.lock'))).toBe(false);
    expect(runLocks(out)).toEqual([]);
    const opened = openExperiment(out);
    try {
      const { store } = opened.context;
      const run = store.getRun(interrupted!)!;
      expect(run.status).toBe('stopped');
      expect(listCheckpoints(store.checkpointDir(interrupted!)).at(-1)?.step).toBe(run.step);
    } finally {
      opened.close();
    }
  }, 60_000);
});

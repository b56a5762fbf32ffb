/**
 * The long-lived child processes that train the runs of the local pool (`--jobs N`) and of a queue worker
 * (src/experiments/run-process.ts, worker.ts): one process trains run after run; one that dies mid-run fails
 * only that run and is replaced, and the run, tried again, finishes; a process whose parent is gone ends (at
 * once when idle, at a checkpoint while it trains).
 *
 * The recipe is fig20-gaussian-fc (no data set): smoke-scale training runs of 72 steps, and a demo-scale one
 * of minutes where a run must surely still be training when told. One kernel thread.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openExperiment } from '../src/experiments/experiment.js';
import type { Scale } from '../src/experiments/recipe.js';
import {
  runLogPath,
  RunProcesses,
  WORKER_STOPPED_EXIT_CODE,
  type ChildMessage,
} from '../src/experiments/run-process.js';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import { makeTempDir } from './helpers/data-fixtures.js';

const temp = makeTempDir('run-process');
afterAll(() => temp.cleanup());
const ENV = { ...process.env, RANDLAB_THREADS: '1' };

/** An experiment folder of fig20-gaussian-fc at `scale`, seed 0, and its training runs' ids. */
function experimentFolder(name: string, scale: Scale): { dir: string; trains: string[] } {
  const dir = join(temp.dir, name);
  mkdirSync(dir, { recursive: true });
  const manifest = { recipe: 'fig20-gaussian-fc', scale, seeds: [0], dataRoot: '/nonexistent', createdAt: '' };
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify(manifest));
  const experiment = openExperiment(dir);
  experiment.close();
  return { dir, trains: experiment.plan.filter((spec) => spec.kind === 'train').map((spec) => spec.id) };
}

/** The pids of the processes that trained (attempts of) a run, from its log. */
function trainedBy(dir: string, runId: string): number[] {
  const log = readFileSync(runLogPath(dir, runId), 'utf8');
  return [...log.matchAll(/^run process (\d+): run /gm)].map((match) => Number(match[1]));
}

function statusOf(dir: string, runId: string): string | undefined {
  const experiment = openExperiment(dir);
  try {
    return experiment.context.store.getRun(runId)?.status;
  } finally {
    experiment.close();
  }
}

async function until(what: string, condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('run processes', () => {
  it('one process trains run after run', async () => {
    const { dir, trains } = experimentFolder('reused', 'smoke');
    const processes = new RunProcesses(ENV);
    try {
      for (const runId of trains)
        expect(await processes.run({ experimentDir: dir, runId, kind: 'train' }), runId).toBe('finished');
    } finally {
      await processes.close();
    }
    const pids = trains.map((runId) => trainedBy(dir, runId));
    expect(pids.every((p) => p.length === 1)).toBe(true);
    expect(new Set(pids.flat()).size).toBe(1);
    for (const runId of trains) expect(statusOf(dir, runId), runId).toBe('finished');
  }, 60_000);

  it('a process that dies mid-run fails only that run; a new process takes the next, and the run tried again finishes', async () => {
    const { dir, trains } = experimentFolder('killed', 'smoke');
    const [doomedRun, otherRun] = [trains[0]!, trains[1]!];
    const processes = new RunProcesses(ENV);
    try {
      const doomed = processes.run({ experimentDir: dir, runId: doomedRun, kind: 'train' });
      await until('the run trains', () => existsSync(join(dir, 'store', doomedRun, 'config.json')));
      const [pid] = trainedBy(dir, doomedRun);
      process.kill(pid!, 'SIGKILL');
      await expect(doomed).rejects.toThrow(`run process ${pid} of ${doomedRun} exited with SIGKILL`);
      expect(statusOf(dir, doomedRun)).not.toBe('finished');
      expect(await processes.run({ experimentDir: dir, runId: otherRun, kind: 'train' })).toBe('finished');
      expect(await processes.run({ experimentDir: dir, runId: doomedRun, kind: 'train' })).toBe('finished');
    } finally {
      await processes.close();
    }
    const [first, again] = trainedBy(dir, doomedRun);
    expect(again).not.toBe(first);
    expect(trainedBy(dir, otherRun)).toEqual([again]);
    expect(statusOf(dir, doomedRun)).toBe('finished');
  }, 60_000);

  it('a process whose parent is gone (its IPC channel closes) ends: at once when idle, at a checkpoint while it trains', async () => {
    // A run of minutes (the demo scale), so the process is surely still training when told.
    const { dir, trains } = experimentFolder('orphaned', 'demo');
    const runId = trains[0]!;
    const lock = join(dir, 'store', runId, 'train.lock');
    for (const when of ['idle', 'while training']) {
      // Output to /dev/null: only the closed channel, not a broken pipe, can tell it its parent is gone.
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'experiments', 'worker.ts')],
        { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: ENV },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve) =>
        child.on('message', (message: ChildMessage) => {
          if ('ready' in message) resolve();
        }),
      );
      if (when === 'while training') {
        child.send({ run: { experimentDir: dir, runId, kind: 'train' } });
        await until('the run trains', () => existsSync(lock));
      }
      child.disconnect();
      if (when === 'idle') {
        expect(await exited, when).toBe(0);
        expect(existsSync(join(dir, 'store', runId)), when).toBe(false);
        continue;
      }
      // It finishes its step, checkpoints and leaves the run 'stopped', to be resumed by the next owner.
      expect(await exited, when).toBe(WORKER_STOPPED_EXIT_CODE);
      const experiment = openExperiment(dir);
      const run = experiment.context.store.getRun(runId)!;
      experiment.close();
      expect(run.status).toBe('stopped');
      expect(listCheckpoints(join(dir, 'store', runId, 'checkpoints')).at(-1)?.step).toBe(run.step);
      expect(existsSync(lock)).toBe(false);
    }
  }, 60_000);
});

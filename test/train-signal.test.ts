/**
 * `randlab train` stopped by SIGTERM or SIGINT (Ctrl-C): it finishes the step, checkpoints, marks the
 * run `stopped`, releases its lock and ends by that signal; `--resume` then finishes the run exactly as
 * an uninterrupted one. The child trains an MLP on Gaussian data for a few seconds with its batches
 * prefetched by the loader's worker: steps of milliseconds against batches assembled in microseconds,
 * the case in which the signal went unheard until the run had finished (the worker's messages kept
 * Node from returning to its event loop for up to 1000 steps).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import { RUN_LOCK_FILE } from '../src/runs/lock.js';
import { RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { finalWeights, gaussianMlpFlags } from './runs-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const ITERATIONS = 200;
const temp = makeTempDir('train-signal');
afterAll(() => temp.cleanup());
const storeDir = join(temp.dir, 'store');

/** About 8 ms a step on one thread: 1.5 s from the first log line (step 1) to the last step. */
const trainArgs = (name: string): string[] => [
  'train',
  '--name',
  name,
  '--threads',
  '1',
  ...gaussianMlpFlags('gaussian:diag(0.1:3.0:0.1),n=2048', '1024,1024', ITERATIONS),
  '--training.batchSize',
  '128',
  '--log.every',
  '1',
  '--eval.every',
  '100',
  '--checkpoint.every',
  '100',
];

/** Runs the CLI to its end; its stdout. */
function cli(args: string[]): string {
  const env = { ...process.env, RANDLAB_RUNS: storeDir };
  const result = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`randlab ${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
  return result.stdout;
}

interface Stopped {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** Seconds from the signal to the process's exit. */
  readonly seconds: number;
}

/** Starts training `name`, sends `signal` once it has logged its first step, and waits for it to end. */
async function trainAndSignal(name: string, signal: NodeJS.Signals): Promise<Stopped> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...trainArgs(name)], {
    env: { ...process.env, RANDLAB_RUNS: storeDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let signalledAt = 0;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (signalledAt === 0 && / step \d+\/\d+ /.test(stderr)) {
      signalledAt = performance.now();
      child.kill(signal);
    }
  });
  const [code, endedBy] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  if (signalledAt === 0) throw new Error(`${name} ended (${code ?? endedBy}) before logging a step: ${stderr}`);
  return { code, signal: endedBy, stdout, seconds: (performance.now() - signalledAt) / 1000 };
}

/** SHA-256 of each tensor of the run's last checkpoint: toEqual on megabytes of Buffers takes seconds. */
function weightDigests(store: RunStore, runId: string): Map<string, string> {
  return new Map(
    [...finalWeights(store, runId)].map(([key, bytes]) => [key, createHash('sha256').update(bytes).digest('hex')]),
  );
}

/** The process ended by the signal soon after it, and left the run stopped with a checkpoint and no lock. */
function expectStopped(stopped: Stopped, name: string, signal: NodeJS.Signals): void {
  const store = RunStore.open(storeDir);
  try {
    const run = store.getRun(name)!;
    expect(run.status).toBe('stopped');
    expect(run.step).toBeLessThan(ITERATIONS);
    expect({ code: stopped.code, signal: stopped.signal }).toEqual({ code: null, signal });
    expect(stopped.seconds).toBeLessThan(5);
    expect(stopped.stdout).toContain(`run ${name} stopped at step ${run.step} `);
    expect(listCheckpoints(store.checkpointDir(name)).at(-1)?.step).toBe(run.step);
    expect(existsSync(join(store.runDir(name), RUN_LOCK_FILE))).toBe(false);
  } finally {
    store.close();
  }
}

describe('randlab train stopped by a signal', () => {
  it('on SIGTERM checkpoints, releases its lock and ends by SIGTERM; --resume ends as an uninterrupted run', async () => {
    expectStopped(await trainAndSignal('terminated', 'SIGTERM'), 'terminated', 'SIGTERM');
    expect(cli(['train', '--quiet', '--resume', 'terminated'])).toMatch(
      new RegExp(`^run terminated finished at step ${ITERATIONS} `),
    );
    cli(trainArgs('uninterrupted'));
    const store = RunStore.open(storeDir);
    expect(weightDigests(store, 'terminated')).toEqual(weightDigests(store, 'uninterrupted'));
    store.close();
  });

  it('on SIGINT (Ctrl-C) checkpoints, releases its lock and ends by SIGINT', async () => {
    expectStopped(await trainAndSignal('interrupted', 'SIGINT'), 'interrupted', 'SIGINT');
  });
});

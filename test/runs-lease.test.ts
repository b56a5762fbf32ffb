/**
 * The run's lock as a lease while it trains (src/runs/lock.ts, src/runs/trainer.ts): renewed between
 * steps, and a trainer that stalled past its ttl and lost the lease to another process writes nothing more.
 * The ttl is set through RANDLAB_LEASE_TTL_MS, as a user would.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import { LEASE_TTL_ENV, LeaseLostError, RunLock } from '../src/runs/lock.js';
import { RunStore } from '../src/runs/store.js';
import { trainRun, type ProgressEvent } from '../src/runs/trainer.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { makeTinyImageFolder, tinyRunConfig, type TinyData } from './runs-fixtures.js';

const ttlMs = 400;
let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;
let store: RunStore;
const previousTtl = process.env[LEASE_TTL_ENV];

beforeAll(async () => {
  data = await makeTinyImageFolder();
  temp = makeTempDir('lease');
  store = RunStore.open(temp.dir);
  process.env[LEASE_TTL_ENV] = String(ttlMs);
});
afterAll(() => {
  if (previousTtl === undefined) delete process.env[LEASE_TTL_ENV];
  else process.env[LEASE_TTL_ENV] = previousTtl;
  store.close();
  temp.cleanup();
  data.cleanup();
});

/** Blocks this thread (and its event loop: no timer runs meanwhile), as a long synchronous step would. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const lockOf = (runId: string) => join(store.runDir(runId), 'train.lock');

describe('a run lease', () => {
  it('is renewed while the run trains: its renewal time advances between steps', async () => {
    const renewals: string[] = [];
    const probe = {
      every: 1,
      onStep: () => {
        block(ttlMs / 10); // a step's work, synchronous: only the loop's turn between steps lets the timer run
        renewals.push(JSON.parse(readFileSync(lockOf('renewed'), 'utf8')).renewed);
        return {};
      },
    };
    const result = await trainRun(tinyRunConfig(data.spec, 'renewed'), { store, cacheDir: null, probes: [probe] });
    expect(result.status).toBe('finished');
    const distinct = [...new Set(renewals)];
    // 25 probes × 40 ms = 1 s of training; renewed every 100 ms.
    expect(distinct.length).toBeGreaterThanOrEqual(4);
    expect(distinct).toEqual([...distinct].sort());
  });

  it('lost while the trainer stalled stops it before its next write: no checkpoint, no metrics, no status', async () => {
    let taker: RunLock | null = null;
    const onProgress = (event: ProgressEvent) => {
      if (event.type !== 'step' || event.step !== 8) return;
      block(2 * ttlMs); // stalled: no renewal; another process takes the expired lease
      taker = RunLock.acquire(store.runDir('stalled'), 'stalled');
    };
    const config = tinyRunConfig(data.spec, 'stalled', { checkpoint: { every: 4 } });
    const error = await trainRun(config, { store, cacheDir: null, onProgress }).catch((e: unknown) => e);
    expect(taker).not.toBeNull();
    const lease = JSON.parse(readFileSync(lockOf('stalled'), 'utf8'));
    expect(error).toBeInstanceOf(LeaseLostError);
    expect((error as Error).message).toBe(
      `lost the lease of run 'stalled' to host ${hostname()} pid ${process.pid} at ${lease.since} ` +
        `(lock ${lockOf('stalled')}); this process stops without writing`,
    );
    // As the trainer left it at step 4: step 8's evaluation and checkpoint were not written, nor a failure.
    expect(listCheckpoints(store.checkpointDir('stalled')).map((c) => c.step)).toEqual([4]);
    expect(Math.max(...store.metrics('stalled').map((row) => row.step))).toBe(4);
    expect(store.getRun('stalled')).toMatchObject({ status: 'running', step: 4, message: null });
    expect(taker!.stillHeld()).toBe(true); // the stopped trainer's release left the new lease alone
    taker!.release();
  });
});

/**
 * The prefetch worker's life: the loader owns it and `close()` ends it, and the trainer closes its
 * loader and waits for that, after a finished run and after a failed one, so no worker thread
 * outlives the run that started it. Workers are counted by wrapping the Worker class.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchLoader } from '../src/data/loader.js';
import { RunStore } from '../src/runs/store.js';
import { trainRun } from '../src/runs/trainer.js';
import { makeTempDir, syntheticImages } from './helpers/data-fixtures.js';
import { makeTinyImageFolder, type TinyData } from './runs-fixtures.js';
import { Preprocessor } from '../src/data/preprocess.js';

/** The workers started during the current test, and whether each has exited. */
const workers = vi.hoisted(() => [] as Array<{ exited: boolean }>);

vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:worker_threads')>();
  class CountedWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      const worker = { exited: false };
      workers.push(worker);
      this.once('exit', () => (worker.exited = true));
    }
  }
  return { ...original, Worker: CountedWorker };
});

let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;
let store: RunStore;

beforeAll(async () => {
  data = await makeTinyImageFolder();
  temp = makeTempDir('loader-close');
  store = RunStore.open(temp.dir);
});
afterAll(() => {
  store.close();
  temp.cleanup();
  data.cleanup();
});
beforeEach(() => {
  workers.length = 0;
});

/** cnn2 on 64 images at batch 16: 4 steps per epoch. */
function tinyConfig(name: string): Record<string, unknown> {
  return {
    name,
    seed: 5,
    data: { dataset: data.spec },
    model: { name: 'cnn2', widths: [4, 8] },
    training: { batchSize: 16, iterations: 8 },
    eval: { every: 8 },
  };
}

describe('the prefetch worker', () => {
  it('has exited when a finished run returns', async () => {
    const result = await trainRun(tinyConfig('finished'), { store, cacheDir: null });
    expect(workers).toEqual([{ exited: true }]);
    expect(result.status).toBe('finished');
  });

  it('has exited when a run that throws mid-epoch rejects', async () => {
    const failing = {
      every: 1,
      onStep: (step: number) => {
        if (step === 6) throw new Error('probe failed at step 6');
        return {};
      },
    };
    const failure = await trainRun(tinyConfig('failing'), { store, cacheDir: null, probes: [failing] }).then(
      () => null,
      (error: unknown) => error,
    );
    // Checked before anything else is awaited: the worker's 'exit' event needs a turn of the event loop.
    expect(workers).toEqual([{ exited: true }]);
    expect((failure as Error).message).toBe('probe failed at step 6');
    expect(store.getRun('failing')).toMatchObject({ status: 'failed', step: 0 });
  });

  it('is stopped once by close(), which returns the same promise when called again', async () => {
    const images = syntheticImages(40, [3, 4, 4]);
    const loader = new BatchLoader({
      dataset: images,
      batchSize: 8,
      seed: 1,
      preprocessor: Preprocessor.fromTrainingSplit(images),
      worker: true,
    });
    await loader.next();
    const closing = loader.close();
    expect(loader.close()).toBe(closing);
    await closing;
    expect(workers).toEqual([{ exited: true }]);
    await expect(loader.next()).rejects.toThrow('BatchLoader is closed');
  });
});

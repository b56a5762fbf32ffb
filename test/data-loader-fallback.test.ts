/**
 * Environments where the prefetch worker cannot start: `worker: 'auto'` must fall back to the
 * in-thread path with identical batches, and `worker: true` must report the failure.
 */
import { describe, expect, it, vi } from 'vitest';
import { BatchLoader } from '../src/data/loader.js';
import { Preprocessor } from '../src/data/preprocess.js';
import { syntheticImages } from './helpers/data-fixtures.js';

const failure = vi.hoisted(() => ({ mode: 'throw' }));

vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:worker_threads')>();
  const { EventEmitter } = await import('node:events');
  class UnstartableWorker extends EventEmitter {
    constructor() {
      super();
      if (failure.mode === 'throw') throw new Error('worker threads are not available here');
      setImmediate(() => this.emit('error', new Error('worker script failed to load')));
    }
    postMessage(): void {}
    ref(): void {}
    unref(): void {}
    async terminate(): Promise<number> {
      return 1;
    }
  }
  return { ...original, Worker: UnstartableWorker };
});

const images = syntheticImages(70, [3, 4, 4]);
const preprocessor = Preprocessor.fromTrainingSplit(images);

async function batches(worker: 'auto' | boolean, count: number) {
  const loader = new BatchLoader({
    dataset: images,
    batchSize: 16,
    seed: 5,
    preprocessor,
    worker,
    augment: { cropPad: 1, flip: true },
  });
  try {
    const result = [];
    for (let i = 0; i < count; i++) result.push(await loader.next());
    return { result, assembler: loader.assembler };
  } finally {
    await loader.close();
  }
}

describe('loader without worker threads', () => {
  for (const mode of ['throw', 'error-event'] as const) {
    it(`falls back to this thread with identical batches when the worker ${mode === 'throw' ? 'cannot be created' : 'fails to load'}`, async () => {
      failure.mode = mode;
      const fallback = await batches('auto', 9);
      expect(fallback.assembler).toBe('thread');
      const reference = await batches(false, 9);
      fallback.result.forEach((batch, b) => {
        expect(batch.indices).toEqual(reference.result[b]!.indices);
        expect(batch.x).toEqual(reference.result[b]!.x);
      });
      await expect(batches(true, 1)).rejects.toThrow(/prefetch worker could not start/);
    });
  }
});

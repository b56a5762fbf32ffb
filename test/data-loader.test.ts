import { describe, expect, it } from 'vitest';
import type { AugmentConfig } from '../src/data/assemble.js';
import { benchLoader } from '../src/data/bench.js';
import { makeGaussianDataset } from '../src/data/gaussian.js';
import { BatchLoader } from '../src/data/loader.js';
import type { LoaderOptions } from '../src/data/loader.js';
import { Preprocessor } from '../src/data/preprocess.js';
import type { Batch } from '../src/data/types.js';
import { syntheticImages } from './helpers/data-fixtures.js';

const images = syntheticImages(103, [3, 8, 8]);
const preprocessor = Preprocessor.fromTrainingSplit(images);

async function take(loader: BatchLoader, count: number): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (let i = 0; i < count; i++) batches.push(await loader.next());
  return batches;
}

async function withLoader<T>(options: Partial<LoaderOptions>, use: (loader: BatchLoader) => Promise<T>): Promise<T> {
  const loader = new BatchLoader({ dataset: images, batchSize: 16, seed: 7, preprocessor, ...options });
  try {
    return await use(loader);
  } finally {
    await loader.close();
  }
}

describe('BatchLoader', () => {
  it('visits every example once per epoch, in NCHW float32 with matching labels', async () => {
    await withLoader({ worker: false }, async (loader) => {
      expect(loader.batchesPerEpoch).toBe(7);
      const seen: number[] = [];
      for await (const batch of loader) {
        expect(batch.x).toBeInstanceOf(Float32Array);
        expect(batch.x.length).toBe(batch.size * 3 * 8 * 8);
        expect(batch.epoch).toBe(0);
        batch.indices.forEach((index, i) => {
          expect(batch.y[i]).toBe(images.labels![index]);
          const expected = preprocessor.applyToIndices(images, [index]);
          expect(batch.x.subarray(i * 192, (i + 1) * 192)).toEqual(expected);
        });
        seen.push(...batch.indices);
      }
      expect(seen.length).toBe(103);
      expect(new Set(seen).size).toBe(103);
      expect(seen).not.toEqual([...seen].sort((a, b) => a - b)); // shuffled
      expect(loader.state()).toEqual({ epoch: 1, position: 0 });
    });
  });

  it('is seeded: same seed same order, another seed or epoch another order', async () => {
    const order = (seed: number) =>
      new BatchLoader({ dataset: images, batchSize: 16, seed, preprocessor, worker: false }).order(0);
    expect(order(7)).toEqual(order(7));
    expect(order(7)).not.toEqual(order(8));
    const loader = new BatchLoader({ dataset: images, batchSize: 16, seed: 7, preprocessor, worker: false });
    expect(loader.order(1)).not.toEqual(loader.order(0));
  });

  it('keeps dataset order without shuffling and drops the last partial batch on request', async () => {
    await withLoader({ worker: false, shuffle: false, dropLast: true }, async (loader) => {
      expect(loader.batchesPerEpoch).toBe(6);
      const batches = await take(loader, 7);
      expect(batches.slice(0, 6).every((b) => b.size === 16)).toBe(true);
      expect(Array.from(batches[0]!.indices)).toEqual(Array.from({ length: 16 }, (_, i) => i));
      expect(batches[6]!.epoch).toBe(1);
      expect(batches[6]!.indices[0]).toBe(0);
    });
    await withLoader({ worker: false, dropLast: false }, async (loader) => {
      const batches = await take(loader, 7);
      expect(batches[6]!.size).toBe(103 - 6 * 16);
    });
  });

  it('runs its worker under vitest and gives batches bit-identical to the in-thread path, with augmentation', async () => {
    const augment: AugmentConfig = { cropPad: 2, flip: true };
    const fromWorker = await withLoader({ worker: true, augment }, async (loader) => {
      const batches = await take(loader, 15);
      expect(loader.assembler).toBe('worker');
      return batches;
    });
    const inThread = await withLoader({ worker: false, augment }, (loader) => take(loader, 15));
    expect(fromWorker.length).toBe(inThread.length);
    fromWorker.forEach((batch, b) => {
      expect(batch.indices).toEqual(inThread[b]!.indices);
      expect(batch.y).toEqual(inThread[b]!.y);
      expect(Buffer.from(batch.x.buffer).equals(Buffer.from(inThread[b]!.x.buffer))).toBe(true);
    });
  });

  it('resumes exactly from a saved state, mid-epoch and across epochs', async () => {
    const augment: AugmentConfig = { cropPad: 1, flip: true };
    const reference = await withLoader({ worker: false, augment }, (loader) => take(loader, 12));
    const state = await withLoader({ worker: false, augment }, async (loader) => {
      await take(loader, 5);
      return loader.state();
    });
    expect(state).toEqual({ epoch: 0, position: 80 });
    const resumed = await withLoader({ worker: 'auto', augment, state }, (loader) => take(loader, 7));
    resumed.forEach((batch, i) => {
      const expected = reference[5 + i]!;
      expect([batch.epoch, batch.position]).toEqual([expected.epoch, expected.position]);
      expect(batch.indices).toEqual(expected.indices);
      expect(batch.x).toEqual(expected.x);
    });
    await withLoader({ worker: false, augment }, async (loader) => {
      loader.seek({ epoch: 1, position: 32 });
      const batch = await loader.next();
      expect(batch.x).toEqual(reference[7 + 2]!.x);
    });
  });

  it('augments differently per epoch but not at all by default', async () => {
    await withLoader({ worker: false, shuffle: false, augment: { cropPad: 2, flip: true } }, async (loader) => {
      const [first] = await take(loader, 1);
      loader.seek({ epoch: 1, position: 0 });
      const [again] = await take(loader, 1);
      expect(first!.indices).toEqual(again!.indices);
      expect(first!.x).not.toEqual(again!.x);
    });
    await withLoader({ worker: false, shuffle: false }, async (loader) => {
      const [batch] = await take(loader, 1);
      expect(batch!.x).toEqual(preprocessor.applyToIndices(images, batch!.indices));
    });
  });

  it('loads vector data and custom labels', async () => {
    const gaussian = makeGaussianDataset({ variances: [1, 2, 3], n: 50, seed: 1, split: 'train' });
    const labels = Int32Array.from({ length: 50 }, (_, i) => i % 3);
    const loader = new BatchLoader({ dataset: gaussian, labels, batchSize: 8, seed: 0, worker: true });
    try {
      const batch = await loader.next();
      expect(batch.x.length).toBe(8 * 3);
      batch.indices.forEach((index, i) => {
        expect(Array.from(batch.x.subarray(i * 3, i * 3 + 3))).toEqual(
          Array.from(gaussian.values.subarray(index * 3, index * 3 + 3)),
        );
        expect(batch.y[i]).toBe(index % 3);
      });
    } finally {
      await loader.close();
    }
  });

  it('rejects bad configurations with clear errors', () => {
    const base = { dataset: images, seed: 0, preprocessor };
    expect(() => new BatchLoader({ ...base, batchSize: 0 })).toThrow(/Batch size/);
    expect(() => new BatchLoader({ dataset: images, seed: 0, batchSize: 4 })).toThrow(/needs a preprocessor/);
    expect(() => new BatchLoader({ ...base, batchSize: 200, dropLast: true })).toThrow(/leaves no batch/);
    expect(() => new BatchLoader({ ...base, batchSize: 4, labels: new Int32Array(5) })).toThrow(
      /5 labels for 103 examples/,
    );
    expect(() => new BatchLoader({ ...base, batchSize: 4, state: { epoch: 0, position: 103 } })).toThrow(/state/);
    const gaussian = makeGaussianDataset({ variances: [1], n: 4, seed: 1, split: 'train' });
    expect(() => new BatchLoader({ dataset: gaussian, seed: 0, batchSize: 2 })).toThrow(/no labels/);
  });

  it('benchLoader reports images per second', async () => {
    const result = await benchLoader({ n: 1024, batches: 4 });
    expect(result.images).toBe(4 * 256);
    expect(result.imagesPerSecond).toBeGreaterThan(0);
    expect(['worker', 'thread']).toContain(result.assembler);
  });
});

/**
 * Loader throughput on CIFAR-sized data (3×32×32 bytes), for `randlab bench`.
 * The pixels are synthetic (throughput does not depend on their values), so it needs no dataset.
 */
import { NO_AUGMENT } from './assemble.js';
import type { AugmentConfig } from './assemble.js';
import { BatchLoader } from './loader.js';
import { Preprocessor } from './preprocess.js';
import type { ImageDataset } from './types.js';
import { identityIndices, sharedUint8 } from './types.js';

export interface LoaderBenchOptions {
  /** Images in the synthetic dataset. Default 10 000. */
  readonly n?: number;
  readonly batchSize?: number;
  /** Batches timed (after one warm-up batch). Default 200. */
  readonly batches?: number;
  readonly worker?: 'auto' | boolean;
  readonly augment?: AugmentConfig;
}

export interface LoaderBenchResult {
  readonly imagesPerSecond: number;
  readonly images: number;
  readonly seconds: number;
  readonly batchSize: number;
  /** Where batches were assembled: the prefetch worker or the calling thread. */
  readonly assembler: 'worker' | 'thread';
}

export async function benchLoader(options: LoaderBenchOptions = {}): Promise<LoaderBenchResult> {
  const n = options.n ?? 10_000;
  const batchSize = options.batchSize ?? 256;
  const batches = options.batches ?? 200;
  const dataset = syntheticCifar(n);
  const preprocessor = Preprocessor.fromTrainingSplit(dataset);
  const loader = new BatchLoader({
    dataset,
    batchSize,
    seed: 0,
    preprocessor,
    augment: options.augment ?? NO_AUGMENT,
    worker: options.worker ?? 'auto',
    prefetch: 4,
  });
  try {
    await loader.next(); // worker start-up is not throughput
    let images = 0;
    const start = process.hrtime.bigint();
    for (let b = 0; b < batches; b++) images += (await loader.next()).size;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { imagesPerSecond: images / seconds, images, seconds, batchSize, assembler: loader.assembler };
  } finally {
    await loader.close();
  }
}

function syntheticCifar(n: number): ImageDataset {
  const pixels = sharedUint8(n * 3072);
  // Any byte pattern will do; a multiplicative hash avoids long constant runs.
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i, 2654435761) >>> 24;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % 10;
  return {
    kind: 'image',
    name: 'synthetic-cifar',
    spec: 'synthetic-cifar',
    split: 'train',
    n,
    shape: [3, 32, 32],
    classes: 10,
    labels,
    sourceIndices: identityIndices(n),
    pixels,
  };
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkDataset } from '../src/data/check.js';
import { loadCifar } from '../src/data/cifar.js';
import { loadDataset } from '../src/data/load.js';
import { computeChannelStats } from '../src/data/preprocess.js';
import type { ImageDataset } from '../src/data/types.js';
import {
  SMALL_CIFAR10,
  SMALL_CIFAR100,
  cifarFileBytes,
  fixtureLabels,
  fixturePixel,
  makeTempDir,
  writeCifar,
} from './helpers/data-fixtures.js';

let root: string;
let cleanup: () => void;
beforeEach(() => ({ dir: root, cleanup } = makeTempDir('cifar')));
afterEach(() => cleanup());

function expectFixtureRecords(dataset: ImageDataset, labelOf: (record: number) => number): void {
  for (let r = 0; r < dataset.n; r++) {
    expect(dataset.labels![r]).toBe(labelOf(r));
    for (const p of [0, 1, 1023, 1024, 2048, 3071]) expect(dataset.pixels[r * 3072 + p]).toBe(fixturePixel(r, p));
  }
}

describe('CIFAR binary files', () => {
  for (const gzip of [false, true]) {
    it(`reads CIFAR-10 records in order (${gzip ? '.bin.gz' : '.bin'})`, async () => {
      writeCifar(root, SMALL_CIFAR10, { gzip });
      const train = await loadCifar(root, SMALL_CIFAR10, { split: 'train' });
      expect(train.n).toBe(30);
      expect(train.shape).toEqual([3, 32, 32]);
      expect(train.classes).toBe(10);
      expect(train.classNames?.[3]).toBe('class3');
      expect(train.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
      expectFixtureRecords(train, (r) => r % 10);
      const test = await loadCifar(root, SMALL_CIFAR10, { split: 'test' });
      expect(test.n).toBe(6);
    });
  }

  it('reads CIFAR-100 fine labels by default and coarse labels on request', async () => {
    writeCifar(root, SMALL_CIFAR100, { gzip: true });
    const fine = await loadCifar(root, SMALL_CIFAR100, { split: 'train' });
    expect(fine.classes).toBe(100);
    expectFixtureRecords(fine, (r) => fixtureLabels(SMALL_CIFAR100, r)[1]!);
    const coarse = await loadCifar(root, SMALL_CIFAR100, { split: 'train', labels: 'coarse' });
    expect(coarse.classes).toBe(20);
    expect(coarse.classNames?.[2]).toBe('super2');
    expectFixtureRecords(coarse, (r) => r % 20);
  });

  it('missing directory: says how to get the data', async () => {
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'train' })).rejects.toThrow(
      /CIFAR-10 not found: directory .*cifar10 does not exist.*randlab data fetch cifar10/,
    );
    await expect(loadDataset('cifar10', { dataDir: root })).rejects.toThrow(/randlab data fetch cifar10/);
  });

  it('missing file: names it', async () => {
    const dir = writeCifar(root, SMALL_CIFAR10);
    rmSync(join(dir, 'data_batch_3.bin'));
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'train' })).rejects.toThrow(
      /data_batch_3\.bin \(or \.bin\.gz\) is missing/,
    );
  });

  it('truncated or oversized file: expected vs actual bytes, plain and gzip', async () => {
    const dir = writeCifar(root, SMALL_CIFAR10);
    const expected = 6 * 3073;
    truncateSync(join(dir, 'data_batch_2.bin'), expected - 100);
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'train' })).rejects.toThrow(
      new RegExp(
        `data_batch_2\\.bin: expected ${expected} bytes \\(6 records × 3073\\), found ${expected - 100}: the file is truncated`,
      ),
    );
    writeFileSync(
      join(dir, 'data_batch_2.bin'),
      Buffer.concat([cifarFileBytes(SMALL_CIFAR10, 6, 6), Buffer.alloc(3073)]),
    );
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'train' })).rejects.toThrow(
      /found 21511: the file is oversized/,
    );

    rmSync(join(dir, 'test_batch.bin'));
    writeFileSync(join(dir, 'test_batch.bin.gz'), gzipSync(cifarFileBytes(SMALL_CIFAR10, 5, 0)));
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'test' })).rejects.toThrow(
      /test_batch\.bin\.gz: expected 18438 bytes .* after decompression, found 15365: the file is truncated/,
    );
    writeFileSync(join(dir, 'test_batch.bin.gz'), gzipSync(cifarFileBytes(SMALL_CIFAR10, 7, 0)));
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'test' })).rejects.toThrow(
      /test_batch\.bin\.gz: .*the file is oversized/,
    );
    const gz = gzipSync(cifarFileBytes(SMALL_CIFAR10, 6, 0));
    writeFileSync(join(dir, 'test_batch.bin.gz'), gz.subarray(0, gz.length - 40));
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'test' })).rejects.toThrow(
      /test_batch\.bin\.gz: not a complete gzip stream/,
    );
  });

  it('label byte out of range: names the file and record', async () => {
    const dir = writeCifar(root, SMALL_CIFAR10);
    const bytes = cifarFileBytes(SMALL_CIFAR10, 6, 24);
    bytes[3 * 3073] = 10;
    writeFileSync(join(dir, 'data_batch_5.bin'), bytes);
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'train' })).rejects.toThrow(
      /data_batch_5\.bin: record 3 has label byte 10, outside 0\.\.9/,
    );

    const dir100 = writeCifar(root, SMALL_CIFAR100);
    const bytes100 = cifarFileBytes(SMALL_CIFAR100, 8, 0);
    bytes100[2 * 3074] = 20; // coarse byte
    writeFileSync(join(dir100, 'test.bin'), bytes100);
    await expect(loadCifar(root, SMALL_CIFAR100, { split: 'test' })).rejects.toThrow(
      /test\.bin: record 2 has coarse label byte 20, outside 0\.\.19/,
    );
  });

  it('class-name file with the wrong number of names is rejected', async () => {
    const dir = writeCifar(root, SMALL_CIFAR10);
    writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\n');
    await expect(loadCifar(root, SMALL_CIFAR10, { split: 'test' })).rejects.toThrow(
      /batches\.meta\.txt: lists 2 class names, expected 10/,
    );
  });
});

const dataRoot = process.env.RANDLAB_DATA;

describe.skipIf(!dataRoot)('real CIFAR-10 ($RANDLAB_DATA)', () => {
  it('has the official counts, labels, order and training-set channel means', async () => {
    const train = (await loadDataset('cifar10', { dataDir: dataRoot! })) as ImageDataset;
    expect(train.n).toBe(50_000);
    expect(train.classNames).toEqual([
      'airplane',
      'automobile',
      'bird',
      'cat',
      'deer',
      'dog',
      'frog',
      'horse',
      'ship',
      'truck',
    ]);
    expect(Array.from(train.labels!.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    const batch1 = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) batch1[train.labels![i]!]!++;
    expect(batch1).toEqual([1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]);
    // README: the first training image of these files starts R = 61, 48, 56, 81, 107, 132.
    expect(Array.from(train.pixels.subarray(0, 6))).toEqual([61, 48, 56, 81, 107, 132]);
    const stats = computeChannelStats(train);
    [125.269, 122.933, 113.863].forEach((mean, c) => expect(Math.abs(stats.mean[c]! * 255 - mean)).toBeLessThan(0.01));
    [62.534, 61.909, 66.46].forEach((std, c) => expect(Math.abs(stats.std[c]! * 255 - std)).toBeLessThan(0.01));
    const test = await loadDataset('cifar10', { dataDir: dataRoot!, split: 'test' });
    expect(Array.from(test.labels!.subarray(0, 10))).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  });

  it('passes data check with 5000/1000 images per class', async () => {
    const report = await checkDataset('cifar10', { dataDir: dataRoot! });
    expect(report.issues).toEqual([]);
    expect(report.splits.map((s) => [s.split, s.n])).toEqual([
      ['train', 50_000],
      ['test', 10_000],
    ]);
    expect(report.splits[0]!.classCounts).toEqual(new Array(10).fill(5000));
    expect(report.splits[1]!.classCounts).toEqual(new Array(10).fill(1000));
    expect(report.splits[1]!.mean[0]).toBeCloseTo(125.987, 2);
  });
});

import { describe, expect, it } from 'vitest';
import { makeGaussianDataset } from '../src/data/gaussian.js';
import { labelFingerprint, makeHeldOutLabels, makeLabels } from '../src/data/labels.js';
import { loadDataset } from '../src/data/load.js';
import { splitDataset, subsetDataset } from '../src/data/split.js';
import type { Dataset, ImageDataset } from '../src/data/types.js';
import { Rng } from '../src/tensor/rng.js';
import { syntheticImages } from './helpers/data-fixtures.js';

describe('synthetic Gaussians', () => {
  it('draws N(0, diag) samples, seeded, with train and test independent', async () => {
    const dataset = await loadDataset('gaussian:diag(0.1:3.0:0.1),n=20000,seed=5');
    if (dataset.kind !== 'vector') throw new Error('expected vectors');
    expect(dataset.shape).toEqual([30]);
    expect(dataset.n).toBe(20_000);
    expect(dataset.labels).toBeNull();
    expect(dataset.classes).toBe(0);
    expect(dataset.values.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (const j of [0, 9, 29]) {
      let sum = 0;
      let squares = 0;
      for (let i = 0; i < dataset.n; i++) {
        const v = dataset.values[i * 30 + j]!;
        sum += v;
        squares += v * v;
      }
      const variance = (j + 1) / 10;
      expect(Math.abs(sum / dataset.n)).toBeLessThan(4 * Math.sqrt(variance / dataset.n));
      // Sample variance has relative std sqrt(2/n) ≈ 1%; allow 5%.
      expect(Math.abs(squares / dataset.n / variance - 1)).toBeLessThan(0.05);
    }
    // Seeded, and sample i does not depend on n: a smaller draw is a prefix of the larger one.
    const again = await loadDataset('gaussian:diag(0.1:3.0:0.1),n=10,seed=5');
    expect(again.kind === 'vector' && again.values).toEqual(dataset.values.subarray(0, 300));
    const other = await loadDataset('gaussian:diag(0.1:3.0:0.1),n=10,seed=6');
    expect(other.kind === 'vector' && other.values[0]).not.toBe(dataset.values[0]);
    const test = await loadDataset('gaussian:diag(0.1:3.0:0.1),n=10,seed=5', { split: 'test' });
    expect(test.kind === 'vector' && test.values[0]).not.toBe(dataset.values[0]);
  });
});

describe('splits', () => {
  const data = syntheticImages(500, [3, 4, 4], 10);

  it('cuts named disjoint parts from a seeded permutation (the paper protocol, scaled down)', () => {
    const parts = splitDataset(data, { seed: 3, parts: { upstream: 200, downstream: 250 } });
    const upstream = parts.upstream!;
    const downstream = parts.downstream!;
    expect([upstream.n, downstream.n]).toEqual([200, 250]);
    expect(upstream.split).toBe('train/upstream');
    const up = new Set(upstream.sourceIndices);
    expect(up.size).toBe(200);
    expect([...downstream.sourceIndices].some((i) => up.has(i))).toBe(false);
    // Each example keeps its pixels and label.
    downstream.sourceIndices.forEach((source, row) => {
      expect(downstream.labels![row]).toBe(data.labels![source]);
      expect((downstream as ImageDataset).pixels.subarray(row * 48, row * 48 + 48)).toEqual(
        data.pixels.subarray(source * 48, source * 48 + 48),
      );
    });
    // Seeded: same seed same parts, other seed other parts.
    expect(splitDataset(data, { seed: 3, parts: { upstream: 200, downstream: 250 } }).upstream!.sourceIndices).toEqual(
      upstream.sourceIndices,
    );
    expect(
      splitDataset(data, { seed: 4, parts: { upstream: 200, downstream: 250 } }).upstream!.sourceIndices,
    ).not.toEqual(upstream.sourceIndices);
  });

  it('never overlaps, for many seeds and explicit offsets', () => {
    for (let seed = 0; seed < 20; seed++) {
      const parts = splitDataset(data, {
        seed,
        parts: [
          { name: 'a', size: 100 },
          { name: 'b', size: 150, offset: 300 },
          { name: 'c', size: 50 },
        ],
      });
      const all = Object.values(parts).flatMap((part) => [...part.sourceIndices]);
      expect(all.length).toBe(300);
      expect(new Set(all).size).toBe(300);
    }
  });

  it('restricts to a class subset and relabels it', () => {
    const parts = splitDataset(data, { seed: 1, classes: [7, 2], parts: { few: 30, more: 60 } });
    const few = parts.few!;
    expect(few.classes).toBe(2);
    few.sourceIndices.forEach((source, row) => {
      const original = data.labels![source]!;
      expect([7, 2]).toContain(original);
      expect(few.labels![row]).toBe(original === 7 ? 0 : 1);
    });
    expect(() => splitDataset(data, { seed: 1, classes: [7, 2], parts: { too: 101 } })).toThrow(
      /only the 100 examples of the chosen classes/,
    );
  });

  it('nested subsets keep indices into the original split', () => {
    const { upstream } = splitDataset(data, { seed: 2, parts: { upstream: 100 } });
    const inner = subsetDataset(upstream!, Int32Array.from([5, 0]), 'probe');
    expect(Array.from(inner.sourceIndices)).toEqual([upstream!.sourceIndices[5], upstream!.sourceIndices[0]]);
  });

  it('rejects a split larger than the data, overlapping parts and bad definitions', () => {
    expect(() => splitDataset(data, { seed: 0, parts: { upstream: 300, downstream: 250 } })).toThrow(
      /Split part 'downstream' .* needs examples 300\.\.549 of the permutation, but the data has only 500 examples/,
    );
    expect(() => splitDataset(data, { seed: 0, parts: { all: 501 } })).toThrow(/only 500 examples/);
    expect(() =>
      splitDataset(data, {
        seed: 0,
        parts: [
          { name: 'a', size: 100 },
          { name: 'b', size: 100, offset: 50 },
        ],
      }),
    ).toThrow(/Split parts 'a' \(0\.\.99\) and 'b' \(50\.\.149\) overlap/);
    expect(() =>
      splitDataset(data, {
        seed: 0,
        parts: [
          { name: 'a', size: 1 },
          { name: 'a', size: 1 },
        ],
      }),
    ).toThrow(/unique/);
    expect(() => splitDataset(data, { seed: 0, parts: { a: 0 } })).toThrow(/positive integer size/);
    expect(() => splitDataset(data, { seed: 0, parts: {} })).toThrow(/at least one part/);
    expect(() => splitDataset(data, { seed: 0, classes: [10], parts: { a: 1 } })).toThrow(/class 10 is outside 0\.\.9/);
  });
});

describe('labels', () => {
  const data = syntheticImages(3000, [1, 2, 2], 10);

  it('real labels are the dataset labels', () => {
    const set = makeLabels(data, { kind: 'real' });
    expect(set.labels).toEqual(data.labels);
    expect(set.classes).toBe(10);
  });

  it('random labels: uniform over K (K may differ from the true count), fixed per seed, re-derivable', () => {
    const set = makeLabels(data, { kind: 'random', k: 7, seed: 11 });
    expect(set.classes).toBe(7);
    const counts = new Array<number>(7).fill(0);
    for (const label of set.labels) counts[label]!++;
    // Expected 428.6 per class, std ≈ 19: allow ±5 std.
    for (const count of counts) expect(Math.abs(count - 3000 / 7)).toBeLessThan(95);
    const again = makeLabels(data, { kind: 'random', k: 7, seed: 11 });
    expect(again.labels).toEqual(set.labels);
    expect(again.fingerprint).toBe(set.fingerprint);
    expect(labelFingerprint(set.labels)).toBe(set.fingerprint);
    expect(makeLabels(data, { kind: 'random', k: 7, seed: 12 }).fingerprint).not.toBe(set.fingerprint);
    // Independent of the true labels: agreement with them is at chance level.
    const agree = set.labels.filter((label, i) => label === data.labels![i]).length;
    expect(agree / 3000).toBeLessThan(0.2);
  });

  it('random labels work for data without labels (Gaussians)', () => {
    const gaussian = makeGaussianDataset({ variances: [1, 2], n: 100, seed: 0, split: 'train' });
    expect(makeLabels(gaussian, { kind: 'random', k: 10, seed: 0 }).labels.length).toBe(100);
    expect(() => makeLabels(gaussian, { kind: 'real' })).toThrow(/has no real labels/);
  });

  it('label noise replaces exactly round(p·n) chosen labels', () => {
    for (const p of [0, 0.25, 1]) {
      const set = makeLabels(data, { kind: 'noise', p, seed: 3 });
      const changed = set.labels.filter((label, i) => label !== data.labels![i]).length;
      const replaced = Math.round(p * 3000);
      // A replaced label equals the true one with probability 1/10.
      expect(changed).toBeLessThanOrEqual(replaced);
      expect(Math.abs(changed - replaced * 0.9)).toBeLessThanOrEqual(Math.max(1, 5 * Math.sqrt(replaced * 0.09)));
      expect(set.classes).toBe(10);
    }
    expect(makeLabels(data, { kind: 'noise', p: 0.3, seed: 3 }).labels).toEqual(
      makeLabels(data, { kind: 'noise', p: 0.3, seed: 3 }).labels,
    );
  });

  it('rejects K < 2, p outside [0, 1] and malformed specs', () => {
    expect(() => makeLabels(data, { kind: 'random', k: 1, seed: 0 })).toThrow(/k ≥ 2 classes, got k = 1/);
    expect(() => makeLabels(data, { kind: 'noise', p: 0.5, k: 1, seed: 0 })).toThrow(/k ≥ 2/);
    expect(() => makeLabels(data, { kind: 'noise', p: 0.5, k: 5, seed: 0 })).toThrow(/k ≥ the 10 true classes/);
    expect(() => makeLabels(data, { kind: 'noise', p: 1.5, seed: 0 })).toThrow(/p must be in \[0, 1\]/);
    expect(() => makeLabels(data, { kind: 'random', k: 3, seed: -1 })).toThrow(/Bad label spec/);
  });
});

/**
 * Example j's held-out label as docs/data.md specifies it: drawn from word 4·j of stream
 * `labels/held-out/<split>` of the seed (random: int(k); noise: uniform() < p ? int(k) : the real label).
 */
function heldOutDraw(seed: number, split: string, j: number): Rng {
  return Rng.fromState({ seed, stream: `labels/held-out/${split}`, position: 4 * j });
}

function differing(a: Int32Array, b: Int32Array): number {
  return a.filter((label, i) => label !== b[i]).length;
}

/** |observed − expected| within 5 binomial standard deviations of n draws at rate `rate`. */
function expectRate(count: number, n: number, rate: number): void {
  expect(Math.abs(count / n - rate)).toBeLessThanOrEqual(5 * Math.sqrt((rate * (1 - rate)) / n) + 1e-12);
}

describe('held-out labels (test labels drawn like the training labels)', () => {
  const data = syntheticImages(3000, [1, 2, 2], 10);

  it('random: each label is the documented draw for (seed, split, example index), uniform over k', () => {
    const set = makeHeldOutLabels(data, { kind: 'random', k: 7, seed: 11 }, 'test');
    expect(set.classes).toBe(7);
    expect(set.spec).toEqual({ kind: 'random', k: 7, seed: 11 });
    expect(Array.from(set.labels)).toEqual(Array.from({ length: 3000 }, (_, j) => heldOutDraw(11, 'test', j).int(7)));
    const counts = new Array<number>(7).fill(0);
    for (const label of set.labels) counts[label]!++;
    for (const count of counts) expectRate(count, 3000, 1 / 7);
    // Deterministic, and other seeds or splits give other labels.
    expect(makeHeldOutLabels(data, { kind: 'random', k: 7, seed: 11 }, 'test').fingerprint).toBe(set.fingerprint);
    expect(labelFingerprint(set.labels)).toBe(set.fingerprint);
    expect(makeHeldOutLabels(data, { kind: 'random', k: 7, seed: 12 }, 'test').fingerprint).not.toBe(set.fingerprint);
    expect(makeHeldOutLabels(data, { kind: 'random', k: 7, seed: 11 }, 'val').fingerprint).not.toBe(set.fingerprint);
  });

  it('a subset (a test limit, any index set) keeps each example its label', () => {
    const spec = { kind: 'noise', p: 0.5, seed: 4 } as const;
    const whole = makeHeldOutLabels(data, spec, 'test').labels;
    const picked = Int32Array.from([2999, 5, 17, 0, 1234]);
    const subset = makeHeldOutLabels(subsetDataset(data, picked, 'test[picked]'), spec, 'test').labels;
    expect(Array.from(subset)).toEqual(Array.from(picked, (j) => whole[j]!));
    const prefix = makeHeldOutLabels(
      subsetDataset(
        data,
        Int32Array.from({ length: 100 }, (_, i) => i),
        'p',
      ),
      spec,
      'test',
    );
    expect(prefix.labels).toEqual(whole.subarray(0, 100));
  });

  it('differ from the real labels at the rate of the training corruption: 1 − 1/k, p(1 − 1/k)', () => {
    const random = makeHeldOutLabels(data, { kind: 'random', k: 10, seed: 0 }, 'test');
    expectRate(differing(random.labels, data.labels!), 3000, 0.9);
    for (const p of [0.2, 0.5]) {
      const noisy = makeHeldOutLabels(data, { kind: 'noise', p, seed: 3 }, 'test');
      expect(noisy.spec).toEqual({ kind: 'noise', p, seed: 3, k: 10 });
      expectRate(differing(noisy.labels, data.labels!), 3000, p * 0.9);
      const direct = Array.from({ length: 3000 }, (_, j) => {
        const rng = heldOutDraw(3, 'test', j);
        return rng.uniform() < p ? rng.int(10) : data.labels![j]!;
      });
      expect(Array.from(noisy.labels)).toEqual(direct);
    }
    expect(makeHeldOutLabels(data, { kind: 'noise', p: 0, seed: 3 }, 'test').labels).toEqual(data.labels);
    expectRate(
      differing(makeHeldOutLabels(data, { kind: 'noise', p: 1, seed: 3 }, 'test').labels, data.labels!),
      3000,
      0.9,
    );
    expect(makeHeldOutLabels(data, { kind: 'real' }, 'test').labels).toEqual(data.labels);
  });

  it('are independent of the training labels drawn from the same seed', () => {
    // Training labels of a larger set, so a held-out draw that reused the training stream at example j
    // or at word 4·j would show as agreement above chance.
    const training = makeLabels(syntheticImages(12_000, [1, 2, 2], 10), { kind: 'random', k: 10, seed: 5 }).labels;
    const heldOut = makeHeldOutLabels(data, { kind: 'random', k: 10, seed: 5 }, 'test').labels;
    expectRate(heldOut.filter((label, j) => label === training[j]).length, 3000, 0.1);
    expectRate(heldOut.filter((label, j) => label === training[4 * j]).length, 3000, 0.1);
    const noisyTraining = makeLabels(data, { kind: 'noise', p: 1, seed: 5 }).labels;
    const noisyHeldOut = makeHeldOutLabels(data, { kind: 'noise', p: 1, seed: 5 }, 'test').labels;
    expectRate(noisyHeldOut.filter((label, j) => label === noisyTraining[j]).length, 3000, 0.1);
  });

  it('reject what the training labels reject, and noise without real labels', () => {
    const gaussian = makeGaussianDataset({ variances: [1, 2], n: 100, seed: 0, split: 'test' });
    expect(makeHeldOutLabels(gaussian, { kind: 'random', k: 3, seed: 0 }, 'test').labels.length).toBe(100);
    expect(() => makeHeldOutLabels(gaussian, { kind: 'noise', p: 0.1, seed: 0 }, 'test')).toThrow(/has no real labels/);
    expect(() => makeHeldOutLabels(data, { kind: 'random', k: 1, seed: 0 }, 'test')).toThrow(/k ≥ 2 classes/);
    expect(() => makeHeldOutLabels(data, { kind: 'noise', p: 2, seed: 0 }, 'test')).toThrow(/p must be in \[0, 1\]/);
  });
});

const dataRoot = process.env.RANDLAB_DATA;

describe.skipIf(!dataRoot)('held-out labels on the real CIFAR-10 test split ($RANDLAB_DATA)', () => {
  it('differ from the real labels at 1 − 1/k (random) and p(1 − 1/k) (noise)', async () => {
    const test: Dataset = await loadDataset('cifar10', { dataDir: dataRoot!, split: 'test' });
    const random = makeHeldOutLabels(test, { kind: 'random', k: 10, seed: 0 }, 'test');
    expectRate(differing(random.labels, test.labels!), test.n, 0.9);
    const noisy = makeHeldOutLabels(test, { kind: 'noise', p: 0.2, seed: 0 }, 'test');
    expectRate(differing(noisy.labels, test.labels!), test.n, 0.18);
    // Per class, too: the corruption does not depend on the image or its class.
    for (let c = 0; c < 10; c++) {
      const rows = Array.from({ length: test.n }, (_, i) => i).filter((i) => test.labels![i] === c);
      expectRate(rows.filter((i) => random.labels[i] !== c).length, rows.length, 0.9);
    }
  });
});

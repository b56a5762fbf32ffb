import { describe, expect, it } from 'vitest';
import { assembleBatch } from '../src/data/assemble.js';
import type { AssemblySource } from '../src/data/assemble.js';
import { computeChannelStats, Preprocessor } from '../src/data/preprocess.js';
import { makeGaussianDataset } from '../src/data/gaussian.js';
import { syntheticImages } from './helpers/data-fixtures.js';

const data = syntheticImages(40, [3, 5, 6]);

function naiveStats(channel: number): { mean: number; std: number } {
  const values: number[] = [];
  for (let i = 0; i < data.n; i++)
    for (let p = 0; p < 30; p++) values.push(data.pixels[(i * 3 + channel) * 30 + p]! / 255);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

describe('channel statistics and preprocessing', () => {
  it('computes per-channel mean and population std on the [0, 1] scale', () => {
    const stats = computeChannelStats(data);
    expect(stats.count).toBe(40 * 30);
    for (let c = 0; c < 3; c++) {
      const naive = naiveStats(c);
      expect(stats.mean[c]).toBeCloseTo(naive.mean, 12);
      expect(stats.std[c]).toBeCloseTo(naive.std, 12);
    }
  });

  it('standardises by default: the training split becomes mean 0, std 1 per channel', () => {
    const pre = Preprocessor.fromTrainingSplit(data);
    expect(pre.config.mode).toBe('standardize');
    const x = pre.apply(data.pixels);
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let squares = 0;
      for (let i = 0; i < data.n; i++) {
        for (let p = 0; p < 30; p++) {
          const v = x[(i * 3 + c) * 30 + p]!;
          sum += v;
          squares += v * v;
        }
      }
      expect(sum / 1200).toBeCloseTo(0, 5);
      expect(squares / 1200).toBeCloseTo(1, 5);
    }
  });

  it('scales to [0, 1], [-1, 1], or keeps bytes', () => {
    const raw = data.pixels.subarray(0, 90);
    const unit = new Preprocessor({ mode: 'unit' }, data).apply(raw);
    const symmetric = new Preprocessor({ mode: 'symmetric' }, data).apply(raw);
    const none = new Preprocessor({ mode: 'none' }, data).apply(raw);
    raw.forEach((byte, i) => {
      expect(unit[i]).toBe(Math.fround(byte / 255));
      expect(symmetric[i]).toBe(Math.fround(byte / 127.5 - 1));
      expect(none[i]).toBe(byte);
    });
    expect(Math.min(...symmetric)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...symmetric)).toBeLessThanOrEqual(1);
  });

  it('preprocesses an arbitrary index set in the order given', () => {
    const pre = Preprocessor.fromTrainingSplit(data);
    const all = pre.apply(data.pixels);
    const picked = pre.applyToIndices(data, [7, 2, 7]);
    expect(picked.subarray(0, 90)).toEqual(all.subarray(7 * 90, 8 * 90));
    expect(picked.subarray(90, 180)).toEqual(all.subarray(2 * 90, 3 * 90));
    expect(picked.subarray(180, 270)).toEqual(all.subarray(7 * 90, 8 * 90));
    expect(() => pre.applyToIndices(data, [40])).toThrow(/outside 0\.\.39/);
  });

  it('passes vectors through and refuses to standardise them', () => {
    const gaussian = makeGaussianDataset({ variances: [1, 4], n: 5, seed: 0, split: 'train' });
    const pre = Preprocessor.fromTrainingSplit(gaussian);
    expect(pre.config.mode).toBe('none');
    expect(pre.applyToIndices(gaussian, [3])).toEqual(gaussian.values.subarray(6, 8));
    expect(() => new Preprocessor({ mode: 'standardize' }, gaussian)).toThrow(/Vector data/);
  });

  it('rejects standardisation without usable statistics', () => {
    expect(() => new Preprocessor({ mode: 'standardize' }, data)).toThrow(/per-channel stats/);
    expect(
      () => new Preprocessor({ mode: 'standardize', stats: { mean: [0, 0, 0], std: [1, 0, 1], count: 1 } }, data),
    ).toThrow(/channel 1 has std 0/);
  });
});

describe('augmentation', () => {
  const [c, h, w] = [3, 5, 6];
  const pre = new Preprocessor({ mode: 'none' }, data);

  /** Reference: zero-pad by `pad`, crop at (pad+dy, pad+dx), then optionally mirror. */
  function transformed(index: number, dx: number, dy: number, flip: boolean): Float32Array {
    const out = new Float32Array(c * h * w);
    for (let ch = 0; ch < c; ch++)
      for (let r = 0; r < h; r++)
        for (let col = 0; col < w; col++) {
          const sr = r + dy;
          const sc = (flip ? w - 1 - col : col) + dx;
          out[(ch * h + r) * w + col] =
            sr < 0 || sr >= h || sc < 0 || sc >= w ? 0 : data.pixels[((index * c + ch) * h + sr) * w + sc]!;
        }
    return out;
  }

  it('each augmented image is one zero-padded crop, possibly mirrored, and all of them occur', () => {
    const pad = 1;
    const source: AssemblySource = {
      kind: 'image',
      shape: data.shape,
      data: data.pixels,
      n: data.n,
      labels: data.labels!,
      lut: pre.lut,
      augment: { cropPad: pad, flip: true },
      seed: 9,
    };
    const used = new Set<string>();
    for (let epoch = 0; epoch < 10; epoch++) {
      const indices = Int32Array.from({ length: data.n }, (_, i) => i);
      const batch = assembleBatch(source, { epoch, position: 0, indices });
      for (let i = 0; i < data.n; i++) {
        const image = batch.x.subarray(i * c * h * w, (i + 1) * c * h * w);
        const matches: string[] = [];
        for (let dy = -pad; dy <= pad; dy++)
          for (let dx = -pad; dx <= pad; dx++)
            for (const flip of [false, true])
              if (transformed(i, dx, dy, flip).every((v, k) => v === image[k])) matches.push(`${dx},${dy},${flip}`);
        expect(matches.length).toBeGreaterThanOrEqual(1);
        used.add(matches[0]!);
      }
    }
    expect(used.size).toBe(18);
  });
});

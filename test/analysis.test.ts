import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  activityMetrics,
  alignedCovariance,
  alignmentJson,
  analyseAlignment,
  computeInputCovariance,
  createActivityProbe,
  createAlignmentProbe,
  extractPatches,
  geometryFromWeightShape,
  initialiseFromCovariance,
  initialiseLayersFromData,
  inputCovariance,
  inputCovarianceCachePath,
  interpolatedTransfer,
  layerInputCovariance,
  measureLayerActivity,
  misalignment,
  parseActivityMetric,
  patchGridPng,
  patchRgb,
  rescaleToNorm,
  sampleGaussianRows,
  spreadIndices,
  topEigenvectors,
  transferFunction,
  weightStatistics,
} from '../src/analysis/index.js';
import type { ImageDataset, VectorDataset } from '../src/data/types.js';
import { covarianceOfRows, matmul, seededHaarBasis, symmetricEigen } from '../src/linalg/index.js';
import { Conv2d, Linear, Module, ReLU, reluOnOutput, Sequential } from '../src/nn/index.js';
import { conv2d, relu, Rng, tensor, untracked, type Tensor } from '../src/tensor/index.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'randlab-analysis-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function imageDataset(n: number, shape: [number, number, number], seed: number): ImageDataset {
  const rng = new Rng(seed, 'test');
  const size = shape[0] * shape[1] * shape[2];
  const pixels = new Uint8Array(new SharedArrayBuffer(n * size));
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  return {
    kind: 'image',
    name: 'fixture',
    spec: `fixture-${seed}`,
    split: 'train',
    n,
    classes: 0,
    labels: null,
    sourceIndices: Int32Array.from({ length: n }, (_, i) => i),
    shape,
    pixels,
  };
}

function vectorDataset(n: number, variances: number[], seed: number): VectorDataset {
  const rng = new Rng(seed, 'test');
  const d = variances.length;
  const values = new Float32Array(new SharedArrayBuffer(n * d * 4));
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) values[i * d + j] = Math.sqrt(variances[j]!) * rng.normal();
  return {
    kind: 'vector',
    name: 'gaussian',
    spec: `gaussian-fixture-${seed}`,
    split: 'train',
    n,
    classes: 0,
    labels: null,
    sourceIndices: Int32Array.from({ length: n }, (_, i) => i),
    shape: [d],
    values,
  };
}

/** An orthonormal basis as rows, and Σ = Σ_i s_i² v_i v_iᵀ in that basis. */
function covarianceInBasis(basis: Float64Array, scales: number[]): Float64Array {
  const d = scales.length;
  return alignedCovariance({ n: d, values: new Float64Array(d), vectors: basis }, (_s, i) => scales[i]!);
}

describe('patches', () => {
  it('are flattened in the conv weight order (c, kh, kw): one-hot filters reproduce each patch entry', () => {
    const [n, c, h, w, kh, kw] = [2, 3, 6, 5, 3, 2];
    const rng = new Rng(1, 'test');
    const images = Float32Array.from({ length: n * c * h * w }, () => rng.normal());
    const d = c * kh * kw;
    // Filter o selects flattened weight index o: conv output channel o = patch column o.
    const selectors = new Float32Array(d * d);
    for (let o = 0; o < d; o++) selectors[o * d + o] = 1;
    const out = conv2d(tensor(images, [n, c, h, w]), tensor(selectors, [d, c, kh, kw]), null);
    const patches = extractPatches(images, n, [c, h, w], [kh, kw]);
    const [oh, ow] = [h - kh + 1, w - kw + 1];
    expect(out.shape).toEqual([n, d, oh, ow]);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < d; o++) {
        for (let y = 0; y < oh; y++) {
          for (let x = 0; x < ow; x++) {
            expect(patches[((b * oh + y) * ow + x) * d + o]).toBe(out.data[((b * d + o) * oh + y) * ow + x]);
          }
        }
      }
    }
    // And a random filter's response is w·patch.
    const filter = Float32Array.from({ length: d }, () => rng.normal());
    const response = conv2d(tensor(images, [n, c, h, w]), tensor(filter, [1, c, kh, kw]), null);
    const row = 7;
    const dot = filter.reduce((s, v, j) => s + v * patches[row * d + j]!, 0);
    expect(response.data[row]).toBeCloseTo(dot, 5);
  });

  it('geometry follows the weight shape and rejects others', () => {
    expect(geometryFromWeightShape([256, 3, 3, 3])).toEqual({ kind: 'patches', channels: 3, kernel: [3, 3] });
    expect(geometryFromWeightShape([64, 3072])).toEqual({ kind: 'flat' });
    expect(() => geometryFromWeightShape([3, 3, 3], 'conv1.weight')).toThrow(/conv1.weight has shape \[3, 3, 3\]/);
  });
});

describe('input covariance Σ_x', () => {
  it('of conv patches equals the covariance of all patches, streamed in small batches, and is cached', () => {
    const dataset = imageDataset(9, [3, 7, 6], 2);
    const preprocess = { mode: 'unit' as const };
    const geometry = { kind: 'patches' as const, channels: 3, kernel: [3, 3] as const };
    const cacheDir = tempDir();
    const streamed = inputCovariance(dataset, { preprocess, geometry, cacheDir, examplesPerBatch: 2 });
    const all = extractPatches(
      Float32Array.from(dataset.pixels, (p) => p / 255),
      dataset.n,
      [3, 7, 6],
      [3, 3],
    );
    const expected = covarianceOfRows(all, 27);
    expect(streamed.count).toBe(9 * 5 * 4);
    streamed.covariance.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 12));
    const path = inputCovarianceCachePath(dataset, { preprocess, geometry, cacheDir });
    expect(existsSync(path)).toBe(true);
    const cached = inputCovariance(dataset, { preprocess, geometry, cacheDir });
    expect([...cached.covariance]).toEqual([...streamed.covariance]);
    expect([...cached.eigen.vectors]).toEqual([...streamed.eigen.vectors]);
    expect(cached.count).toBe(streamed.count);
    // A damaged cache file is recomputed and rewritten.
    writeFileSync(path, 'garbage');
    expect([...inputCovariance(dataset, { preprocess, geometry, cacheDir, examplesPerBatch: 2 }).covariance]).toEqual([
      ...streamed.covariance,
    ]);
    expect(readFileSync(path).length).toBeGreaterThan(8 * 27 * 27);
    // Another kernel size or preprocessing is another cache entry.
    expect(
      inputCovarianceCachePath(dataset, { preprocess, geometry: { ...geometry, kernel: [2, 2] }, cacheDir }),
    ).not.toBe(path);
    expect(inputCovarianceCachePath(dataset, { preprocess: { mode: 'symmetric' }, geometry, cacheDir })).not.toBe(path);
  });

  it('of flattened vectors recovers a diagonal Gaussian covariance', () => {
    const variances = [0.5, 1, 2, 4];
    const result = computeInputCovariance(vectorDataset(20000, variances, 3), {
      preprocess: { mode: 'none' },
      geometry: { kind: 'flat' },
    });
    variances.forEach((v, i) => expect(result.covariance[i * 4 + i]! / v).toBeCloseTo(1, 1));
    expect([...result.eigen.values].map((x) => Math.round(x))).toEqual([1, 1, 2, 4]);
  });

  it('says when the kernel does not match the images', () => {
    const dataset = imageDataset(2, [3, 4, 4], 4);
    expect(() =>
      computeInputCovariance(dataset, {
        preprocess: { mode: 'unit' },
        geometry: { kind: 'patches', channels: 1, kernel: [3, 3] },
      }),
    ).toThrow(/filters have 1 channel\(s\), the images 3/);
    expect(() =>
      computeInputCovariance(dataset, {
        preprocess: { mode: 'unit' },
        geometry: { kind: 'patches', channels: 3, kernel: [5, 5] },
      }),
    ).toThrow(/5×5 kernel does not fit images of 4×4/);
  });
});

describe('Σ_w, misalignment and f', () => {
  const d = 4;
  const standard = Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));

  it("M is 0 for Σ_w's own eigenbasis, positive otherwise, scale-free, and matches a hand computation", () => {
    const a = 1;
    const b = 4;
    const sigmaW = symmetricEigen(Float64Array.of(a, 0, 0, b), 2);
    const identity2 = Float64Array.of(1, 0, 0, 1);
    expect(Math.abs(misalignment(sigmaW, identity2).total)).toBeLessThan(1e-14);
    // 45° basis: each term is sqrt(((a+b)/2)·((1/a+1/b)/2)) − 1.
    const h = Math.SQRT1_2;
    const rotated = misalignment(sigmaW, Float64Array.of(h, h, -h, h));
    const term = Math.sqrt(((a + b) / 2) * ((1 / a + 1 / b) / 2)) - 1;
    expect(rotated.total).toBeCloseTo(2 * term, 14);
    expect(rotated.perDimension).toBeCloseTo(term, 14);
    const scaled = symmetricEigen(Float64Array.of(7 * a, 0, 0, 7 * b), 2);
    expect(misalignment(scaled, Float64Array.of(h, h, -h, h)).total).toBeCloseTo(rotated.total, 12);
  });

  it('for an aligned Σ_w, M_data ≈ 0 ≪ M_random and f recovers the imposed transfer function', () => {
    const basis = seededHaarBasis(d, 5); // the "data" eigenbasis
    const input = { n: d, values: Float64Array.of(0.25, 1, 4, 9), vectors: basis };
    const imposed = [0.3, 0.5, 0.2, 0.1];
    const sigmaW = alignedCovariance(input, (_s, i) => imposed[i]!);
    const { f, sigma } = transferFunction(sigmaW, input);
    f.forEach((value, i) => expect(value).toBeCloseTo(imposed[i]!, 12));
    expect([...sigma]).toEqual([0.5, 1, 2, 3]);
    const eigenW = symmetricEigen(sigmaW, d);
    expect(Math.abs(misalignment(eigenW, basis).total)).toBeLessThan(1e-10);
    expect(misalignment(eigenW, seededHaarBasis(d, 99)).total).toBeGreaterThan(0.05);
  });

  it('pools several tensors, reports the mean norm, and demands d+1 weight vectors', () => {
    const rng = new Rng(6, 'test');
    const make = (rows: number) => ({
      data: Float32Array.from({ length: rows * d }, () => 2 + rng.normal()),
      shape: [rows, d] as const,
    });
    const first = make(3);
    const second = make(3);
    const stats = weightStatistics([first, second], 'fc1');
    expect(stats.count).toBe(6);
    const all = new Float64Array([...first.data, ...second.data]);
    covarianceOfRows(all, d).forEach((value, i) => expect(stats.covariance[i]).toBeCloseTo(value, 12));
    expect(stats.meanNorm).toBeGreaterThan(2); // mean ≈ (2, 2, 2, 2): norm ≈ 4
    const input = { n: d, values: Float64Array.of(1, 2, 3, 4), vectors: standard };
    expect(() => analyseAlignment('fc1', weightStatistics([first], 'fc1'), input)).toThrow(
      /misalignment of fc1 needs an invertible Σ_w, so at least d\+1 = 5 weight vectors; got 3/,
    );
    expect(() => weightStatistics([first, { data: new Float32Array(10), shape: [2, 5] }], 'fc1')).toThrow(
      /rows of 5\), the first has rows of 4/,
    );
  });

  it('analyseAlignment reports every field, and the JSON uses the CLI names', () => {
    const rng = new Rng(8, 'test');
    const data = Float32Array.from({ length: 50 * d }, () => rng.normal());
    const input = { n: d, values: Float64Array.of(1, 2, 3, 4), vectors: standard };
    const result = analyseAlignment('fc1', weightStatistics([{ data, shape: [50, d] }], 'fc1'), input, {
      basisSeed: 3,
    });
    expect(result.d).toBe(d);
    expect(result.nVectors).toBe(50);
    expect(result.misalignmentData).toBeGreaterThan(0);
    expect(result.misalignmentDataPerDim).toBeCloseTo(result.misalignmentData / d, 14);
    const json = alignmentJson(result);
    for (const key of [
      'layer',
      'd',
      'n_vectors',
      'misalignment_data',
      'misalignment_random',
      'eigenvalues',
      'f',
      'weight_mean_norm',
    ])
      expect(json).toHaveProperty(key);
    expect(json.eigenvalues).toEqual([1, 2, 3, 4]);
  });
});

describe('initialisers', () => {
  it('sampleGaussianRows draws N(0, Σ), including a singular Σ', () => {
    const basis = seededHaarBasis(3, 1);
    const sigma = covarianceInBasis(basis, [0, 1, 2]); // rank 2
    const rows = sampleGaussianRows(sigma, 3, 40000, new Rng(2, 'init'));
    const estimated = covarianceOfRows(rows, 3);
    estimated.forEach((value, i) => expect(Math.abs(value - sigma[i]!)).toBeLessThan(0.06));
    // No mass along the null direction v_0.
    let along = 0;
    for (let r = 0; r < 100; r++)
      along = Math.max(along, Math.abs(rows.subarray(r * 3, r * 3 + 3).reduce((s, x, j) => s + x * basis[j]!, 0)));
    expect(along).toBeLessThan(1e-12);
    expect(() => sampleGaussianRows(Float64Array.of(1, 0, 0, -1), 2, 1, new Rng(0, 'init'), 'Σ bad')).toThrow(
      /Σ bad is not positive semi-definite/,
    );
  });

  it('interpolates f in log σ and rescales a tensor to a reference norm', () => {
    const f = interpolatedTransfer([1, 100], [0.2, 0.4]);
    expect(f(10, 0)).toBeCloseTo(0.3, 14);
    expect(f(0.01, 0)).toBe(0.2);
    expect(f(1e4, 0)).toBe(0.4);
    const t = untracked(() => tensor([3, 4]));
    expect(rescaleToNorm(t, 10)).toBeCloseTo(2, 6);
    expect([...t.data]).toEqual([6, 8]);
  });

  it('initialises a deeper layer from the covariance of the activations below it', () => {
    class Net extends Module {
      readonly conv1 = this.registerModule('conv1', new Conv2d(1, 2, 2));
      readonly conv2 = this.registerModule('conv2', new Conv2d(2, 300, 2));
      forward(x: Tensor): Tensor {
        return this.conv2.call(relu(this.conv1.call(x)));
      }
    }
    const net = new Net();
    const rng = new Rng(4, 'test');
    net.conv1.weight.data.set(Float32Array.from({ length: 8 }, () => rng.normal()));
    const images = Float32Array.from({ length: 6 * 1 * 5 * 5 }, () => rng.normal());
    const batch = untracked(() => tensor(images, [6, 1, 5, 5]));
    // Expected: patches of relu(conv1(x)), computed by hand.
    const hidden = relu(conv2d(batch, net.conv1.weight, net.conv1.bias));
    const expected = covarianceOfRows(extractPatches(hidden.data, 6, [2, 4, 4], [2, 2]), 8);
    const measured = layerInputCovariance(net, 'conv2', [batch]);
    expect(measured.dim).toBe(8);
    measured.covariance.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
    initialiseLayersFromData(net, [{ layer: 'conv2', f: (s) => s }], () => [batch], new Rng(1, 'init'));
    const weights = weightStatistics([{ data: net.conv2.weight.data, shape: net.conv2.weight.shape }], 'conv2');
    // With f(σ) = σ, Σ = Σ_x: the 300 sampled filters' covariance is close to it.
    const scale = Math.max(...expected);
    weights.covariance.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(0.25 * scale));
    // And aligned: the data eigenbasis has small misalignment relative to a random basis.
    const eigenW = symmetricEigen(weights.covariance, 8);
    expect(misalignment(eigenW, measured.eigen.vectors).total).toBeLessThan(
      misalignment(eigenW, seededHaarBasis(8, 0)).total,
    );
  });

  it('initialiseFromCovariance checks the covariance size', () => {
    const layer = new Linear(3, 5);
    expect(() => initialiseFromCovariance(layer.weight, new Float64Array(4), new Rng(0, 'init'))).toThrow(
      /rows of 3, covariance of 4 values/,
    );
  });
});

describe('eigen-images', () => {
  it('lay a (c, kh, kw) vector out as RGB with per-vector contrast', () => {
    // Channel c, pixel (y, x) holds 100c + 10y + x.
    const vector = Float64Array.from(
      { length: 3 * 2 * 2 },
      (_, i) => 100 * Math.floor(i / 4) + 10 * Math.floor((i % 4) / 2) + (i % 2),
    );
    const rgb = patchRgb(vector, { channels: 3, height: 2, width: 2 });
    expect(rgb[0]).toBe(0); // min → 0 (channel 0, pixel 0)
    expect(rgb[(1 * 2 + 1) * 3 + 2]).toBe(255); // max → 255 (channel 2, pixel (1, 1))
    expect(rgb[1]).toBe(Math.round((255 * 100) / 211)); // channel 1 of pixel (0, 0)
    expect(
      [...patchRgb(Float64Array.of(5, 5, 5, 5), { channels: 1, height: 2, width: 2 })].every((v) => v === 128),
    ).toBe(true);
  });

  it('grid PNG has the tiles and gaps it promises; topEigenvectors are largest first', () => {
    const eigen = symmetricEigen(
      Float64Array.from({ length: 27 * 27 }, (_, i) => (i % 28 === 0 ? 1 + i / 28 : 0)),
      27,
    );
    const top = topEigenvectors(eigen, 5);
    expect(top).toHaveLength(5);
    expect(top[0]![26]).toBe(1); // largest eigenvalue sits on the last axis
    const png = PNG.sync.read(
      patchGridPng(top, { channels: 3, height: 3, width: 3 }, { columns: 4, scale: 4, gap: 2 }),
    );
    expect([png.width, png.height]).toEqual([4 * 12 + 5 * 2, 2 * 12 + 3 * 2]);
    expect(() => patchGridPng(top, { channels: 3, height: 2, width: 2 })).toThrow(/27 values is not a 3×2×2 patch/);
  });
});

describe('layer activity', () => {
  class Mixed extends Module {
    readonly fc1 = this.registerModule('fc1', new Linear(2, 3));
    readonly block = this.registerModule('block', new Sequential(new Linear(3, 2), new ReLU()));
    forward(x: Tensor): Tensor {
      return this.block.call(reluOnOutput(this.fc1.call(x), this.fc1));
    }
  }

  it('finds fused and module ReLUs, and counts positive outputs and dead units', () => {
    const net = new Mixed();
    // fc1: unit 0 = x0, unit 1 = −x0 − 10 (dead for these inputs), unit 2 = x1.
    net.fc1.weight.data.set([1, 0, -1, 0, 0, 1]);
    net.fc1.bias!.data.set([0, -10, 0]);
    const second = net.block.at(0) as Linear;
    second.weight.data.set([1, 0, 0, 0, 0, -1]);
    second.bias!.data.set([0, 0]);
    const probe = untracked(() => tensor([1, -1, -2, 3, 4, 5], [3, 2]));
    const activity = measureLayerActivity(net, probe);
    expect(activity.map((a) => a.layer)).toEqual(['fc1', 'block.1']);
    // fc1 pre-activations: [1,-11,-1], [-2,-8,3], [4,-14,5] → 4 of 9 positive, unit 1 dead.
    expect(activity[0]!.positiveFraction).toBeCloseTo(4 / 9, 12);
    expect(activity[0]!.deadFraction).toBeCloseTo(1 / 3, 12);
    // block: [relu(x0)·1, −relu(x1)] → unit 1 never positive.
    expect(activity[1]!.deadFraction).toBe(0.5);
    expect(net.training).toBe(true); // mode restored
    const metrics = activityMetrics(activity);
    expect(metrics['activity/fc1/dead_fraction']).toBeCloseTo(1 / 3, 12);
    expect(parseActivityMetric('activity/block.1/positive_fraction')).toEqual({
      layer: 'block.1',
      quantity: 'positive_fraction',
    });
    expect(parseActivityMetric('train/loss')).toBeNull();
    const probeFn = createActivityProbe({ inputs: Float32Array.of(1, -1, -2, 3, 4, 5), shape: [3, 2], every: 5 });
    expect(probeFn.onStep(0, net)).toEqual(metrics);
  });
});

describe('alignment probe', () => {
  it('records M, f and σ under stable names, and checks the layer up front', () => {
    const d = 3;
    const net = new Sequential(new Linear(d, 8), new ReLU(), new Linear(8, 2));
    const rng = new Rng(3, 'test');
    (net.at(0) as Linear).weight.data.set(Float32Array.from({ length: 24 }, () => rng.normal()));
    const input = { n: d, values: Float64Array.of(1, 2, 3), vectors: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) };
    const probe = createAlignmentProbe({ layer: '0', input, every: 10, model: net });
    const first = probe.onStep(0, net);
    expect(Object.keys(first).sort()).toEqual(
      [
        'misalignment_data',
        'misalignment_random',
        'misalignment_data_per_dim',
        'misalignment_random_per_dim',
        'weight_mean_norm',
        'f/0',
        'f/1',
        'f/2',
        'sigma/0',
        'sigma/1',
        'sigma/2',
      ]
        .map((name) => `alignment/0/${name}`)
        .sort(),
    );
    expect(Object.keys(probe.onStep(10, net))).not.toContain('alignment/0/sigma/0');
    expect(first['alignment/0/sigma/2']).toBeCloseTo(Math.sqrt(3), 14);
    expect(() => createAlignmentProbe({ layer: '2', input, every: 10, model: net })).toThrow(
      /2.weight has rows of 8, Σ_x is 3×3/,
    );
    const narrow = new Sequential(new Linear(d, 3));
    expect(() => createAlignmentProbe({ layer: '0', input, every: 10, model: narrow })).toThrow(
      /at least d\+1 = 4 weight vectors; got 3/,
    );
    expect(spreadIndices(3072, 5)).toEqual([0, 768, 1536, 2303, 3071]);
  });
});

it('matmul helper sanity for the tests above', () => {
  expect([...matmul(Float64Array.of(1, 2), Float64Array.of(3, 4), 1, 2, 1)]).toEqual([11]);
});

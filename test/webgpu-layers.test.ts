/**
 * The WGSL convolution, pooling, batch-norm and Adam kernels against the TypeScript reference, on
 * awkward geometries: 1×1 images and kernels, odd sizes, unequal strides and padding, 1×1 stride-2
 * shortcuts, a 5×5 kernel with padding 2, batch 1, pooling windows with ties and NaN.
 *
 * Tolerances (u = 2⁻²⁴): a float32 sum of K products in any order is within 2(K + 2)·u·Σ|terms|
 * of the exact value, where Σ|terms| is the same kernel run by the reference on absolute values
 * (K = c·kh·kw for the forward, outC·kh·kw for the data gradient, n·outH·outW for the filter and
 * bias gradients, kh·kw for pooling). Max pooling is exact (values and indices). Batch norm's
 * gradient sums use the same bound over n·spatial terms, and dx the error they carry through its
 * cancellation; its forward and Adam: 1e-5 · max(1, |reference|), a few float32 roundings, a
 * square root and a division on values of order 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdamParams, BatchNormParams, Conv2dParams, Pool2dParams } from '../src/kernels/interface.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { filterGradientSplits, useDirect } from '../src/kernels/webgpu/conv2d.js';
import * as gpuKernels from '../src/kernels/webgpu/index.js';
import { acquireWebGpu, releaseWebGpu, WebGpu, type DeviceArray } from '../src/kernels/webgpu/index.js';
import { conv2dParams, pool2dParams } from '../src/tensor/ops/util.js';
import { Rng } from '../src/tensor/rng.js';
import { randomArray } from './helpers/random.js';
import { expectExact, expectWithin, webgpuMissing } from './helpers/webgpu.js';

const u = 2 ** -24;
const rng = new Rng(2026, 'webgpu-layers');
const abs = (a: Float32Array): Float32Array => a.map(Math.abs);
/** The float32 bound for sums of `terms` products, given the reference's sums of their magnitudes. */
const sumBound =
  (terms: number, magnitude: Float32Array) =>
  (i: number): number =>
    2 * (terms + 2) * u * magnitude[i]!;
const relative = (expected: Float32Array) => (i: number) => 1e-5 * Math.max(1, Math.abs(expected[i]!));

describe.skipIf(webgpuMissing)('WebGPU layer kernels against the reference', () => {
  let gpu: WebGpu;
  beforeAll(async () => {
    gpu = await WebGpu.acquire();
  });
  afterAll(async () => {
    await releaseWebGpu();
  });
  const up = (data: Float32Array | Int32Array): DeviceArray => gpu.upload(data);
  const down = (array: DeviceArray): Promise<Float32Array> => gpu.download(array);

  /** The three conv kernels on `runtime` against the reference, each within its float32 bound. */
  async function expectConvMatchesReference(runtime: WebGpu, p: Conv2dParams): Promise<void> {
    const upload = (data: Float32Array): DeviceArray => runtime.upload(data);
    const download = (array: DeviceArray): Promise<Float32Array> => runtime.download(array);
    const x = randomArray(rng, p.n * p.c * p.h * p.w);
    const w = randomArray(rng, p.outC * p.c * p.kh * p.kw);
    const bias = randomArray(rng, p.outC);
    const dy = randomArray(rng, p.n * p.outC * p.outH * p.outW);
    const [deviceX, deviceW, deviceDy] = [upload(x), upload(w), upload(dy)];

    for (const withBias of [true, false]) {
      const y = new Float32Array(dy.length);
      ref.conv2dForward(x, w, withBias ? bias : null, y, p);
      const magnitude = new Float32Array(dy.length);
      ref.conv2dForward(abs(x), abs(w), withBias ? abs(bias) : null, magnitude, p);
      const deviceY = runtime.upload(new Float32Array(dy.length).fill(NaN));
      gpuKernels.conv2dForward(runtime, deviceX, deviceW, withBias ? upload(bias) : null, deviceY, p);
      expectWithin(await download(deviceY), y, sumBound(p.c * p.kh * p.kw + 1, magnitude), `forward, bias ${withBias}`);
    }

    const dx = new Float32Array(x.length);
    ref.conv2dBackwardData(dy, w, dx, p);
    const dxMagnitude = new Float32Array(x.length);
    ref.conv2dBackwardData(abs(dy), abs(w), dxMagnitude, p);
    const deviceDx = upload(new Float32Array(x.length).fill(NaN));
    gpuKernels.conv2dBackwardData(runtime, deviceDy, deviceW, deviceDx, p);
    expectWithin(await download(deviceDx), dx, sumBound(p.outC * p.kh * p.kw, dxMagnitude), 'backward data');

    const dw = new Float32Array(w.length);
    const dbias = new Float32Array(p.outC);
    ref.conv2dBackwardFilter(x, dy, dw, dbias, p);
    const dwMagnitude = new Float32Array(w.length);
    const dbiasMagnitude = new Float32Array(p.outC);
    ref.conv2dBackwardFilter(abs(x), abs(dy), dwMagnitude, dbiasMagnitude, p);
    const deviceDw = upload(new Float32Array(w.length).fill(NaN));
    const deviceDbias = upload(new Float32Array(p.outC).fill(NaN));
    gpuKernels.conv2dBackwardFilter(runtime, deviceX, deviceDy, deviceDw, deviceDbias, p);
    const terms = p.n * p.outH * p.outW;
    expectWithin(await download(deviceDw), dw, sumBound(terms, dwMagnitude), 'backward filter');
    expectWithin(await download(deviceDbias), dbias, sumBound(terms, dbiasMagnitude), 'backward bias');
    gpuKernels.conv2dBackwardFilter(runtime, deviceX, deviceDy, deviceDw, null, p);
    expectWithin(await download(deviceDw), dw, sumBound(terms, dwMagnitude), 'backward filter without bias');
  }

  describe('conv2d', () => {
    const CASES: [string, Conv2dParams][] = [
      ['1×1 image, 1×1 kernel', conv2dParams(1, 1, 1, 1, 1, [1, 1], [1, 1], [0, 0])],
      ['3×3 pad 1 on 7×5, batch 2', conv2dParams(2, 3, 7, 5, 4, [3, 3], [1, 1], [1, 1])],
      ['3×2 kernel, stride 2×3, pad 1×0', conv2dParams(1, 2, 9, 8, 3, [3, 2], [2, 3], [1, 0])],
      ['5×5 pad 2, batch 3', conv2dParams(3, 5, 6, 6, 2, [5, 5], [1, 1], [2, 2])],
      ['1×1 stride 2 shortcut on 7×7', conv2dParams(2, 8, 7, 7, 4, [1, 1], [2, 2], [0, 0])],
      ['16→16 channels 3×3 on 8×8', conv2dParams(2, 16, 8, 8, 16, [3, 3], [1, 1], [1, 1])],
      ['3×3 stride 2 pad 1 on odd 9×11', conv2dParams(2, 3, 9, 11, 5, [3, 3], [2, 2], [1, 1])],
      ['1×1 kernel, batch 1, odd sizes', conv2dParams(1, 7, 5, 3, 6, [1, 1], [1, 1], [0, 0])],
      // Several GEMM tiles each way: 70 output channels, 81-term windows, 143 output pixels.
      ['9→70 channels on 11×13, batch 1, tile edges', conv2dParams(1, 9, 11, 13, 70, [3, 3], [1, 1], [1, 1])],
      // 7 396 terms per filter-gradient sum: split over the grid, the last split short.
      [
        'valid 3×3 on 45×45, batch 4: split filter-gradient sums',
        conv2dParams(4, 3, 45, 45, 5, [3, 3], [1, 1], [0, 0]),
      ],
      ['padding larger than the kernel reaches', conv2dParams(2, 2, 4, 5, 3, [3, 3], [2, 1], [3, 2])],
      // Wide enough for the tiled kernels in all three directions (see useDirect), with stride 2.
      ['20→24 channels 3×3 stride 2 pad 1 on 9×11, tiled', conv2dParams(2, 20, 9, 11, 24, [3, 3], [2, 2], [1, 1])],
      ['64→64 channels 1×1 stride 2 shortcut on 7×7, tiled', conv2dParams(2, 64, 7, 7, 64, [1, 1], [2, 2], [0, 0])],
    ];
    for (const [name, p] of CASES) it(name, () => expectConvMatchesReference(gpu, p));

    it('takes the direct kernels where a GEMM tile would be mostly idle', () => {
      expect(useDirect(3, 50 * 1024, 32 * 9)).toBe(true); // the data gradient of an RGB input
      expect(useDirect(256, 50 * 900, 27)).toBe(true); // cnn2's first layer: 27-term windows
      expect(useDirect(512, 4, 512 * 9)).toBe(true); // a 2×2 layer at batch 1
      expect(useDirect(16, 16, 64)).toBe(false);
    });

    it('splits the filter gradient by the work and the limits', () => {
      // 1 tile of outputs and 7 396 terms: 3 splits of at least 2 048 terms.
      expect(filterGradientSplits(gpu, 1, 7396, 135)).toBe(3);
      expect(filterGradientSplits(gpu, 1, 2047, 135)).toBe(1);
      // Enough tiles to occupy the device: no split.
      expect(filterGradientSplits(gpu, 576, 1 << 20, 512 * 4608)).toBe(1);
      expect(filterGradientSplits(gpu, 1, 1 << 24, 864)).toBe(256);
    });

    describe('with small adapter limits (a second runtime on the same device)', () => {
      let small: WebGpu;
      beforeAll(async () => {
        await gpu.flush();
        const context = await acquireWebGpu();
        const limits = {
          ...context.adapter.limits,
          maxComputeWorkgroupsPerDimension: 2,
          maxStorageBufferBindingSize: 65536,
        };
        small = new WebGpu({ ...context, adapter: { ...context.adapter, limits } });
      });

      // At most 2·64 columns per dispatch: the forward's 36 per image in chunks of 3, 3, 3 and 2
      // images, the data gradient's 25 in chunks of 5, 5 and 1 (both tiled: 16 channels, 64-term sums).
      it('chunks the batch so that no dispatch exceeds the grid limit', () =>
        expectConvMatchesReference(small, conv2dParams(11, 16, 5, 5, 16, [2, 2], [1, 1], [1, 1])));

      it('holds the filter-gradient splits to the grid and the binding limits', () => {
        expect(filterGradientSplits(small, 1, 1 << 20, 8)).toBe(2);
        expect(filterGradientSplits(small, 1, 1 << 20, 16384)).toBe(1);
      });

      it('says when one image has more output columns than a dispatch covers', () => {
        const p = conv2dParams(1, 16, 13, 13, 16, [2, 2], [1, 1], [0, 0]);
        const [x, w, y] = [small.createArray(16 * 169), small.createArray(16 * 64), small.createArray(16 * 144)];
        expect(() => gpuKernels.conv2dForward(small, x, w, null, y, p)).toThrow(
          'webgpu conv2dForward: one image gives 144 output columns, more than one dispatch covers (2 workgroups of 64)',
        );
      });
    });
  });

  it('names the kernel and the geometry when an output size or a length disagrees', () => {
    const p = conv2dParams(1, 2, 5, 5, 3, [3, 3], [1, 1], [1, 1]);
    const [x, w, y] = [gpu.createArray(50), gpu.createArray(54), gpu.createArray(75)];
    expect(() => gpuKernels.conv2dForward(gpu, x, w, null, y, { ...p, outH: 4 })).toThrow(
      'webgpu conv2dForward: output 4×5 does not match x [1, 2, 5, 5], w [3, 2, 3, 3], stride 1×1, pad 1×1, which gives 5×5',
    );
    expect(() => gpuKernels.conv2dBackwardData(gpu, y, w, gpu.createArray(49), p)).toThrow(
      /webgpu conv2dBackwardData: x \(array\) has 49 elements; x \[1, 2, 5, 5\].* needs 50/,
    );
    const pool = { ...pool2dParams(1, 2, 5, 5, [2, 2], [2, 2], [0, 0]), strideH: 0 };
    expect(() => gpuKernels.avgPool2dForward(gpu, x, y, pool)).toThrow(
      'webgpu avgPool2dForward: windows and strides must be at least 1',
    );
  });

  describe('pooling', () => {
    const CASES: [string, Pool2dParams][] = [
      ['1×1 window on 1×1', pool2dParams(1, 1, 1, 1, [1, 1], [1, 1], [0, 0])],
      ['2×2 stride 2 on 7×5 (odd edges dropped)', pool2dParams(2, 3, 7, 5, [2, 2], [2, 2], [0, 0])],
      ['3×3 stride 2 pad 1 on 9×8 (overlapping)', pool2dParams(1, 2, 9, 8, [3, 3], [2, 2], [1, 1])],
      ['3×2 stride 1 pad 1×0 on 5×6', pool2dParams(2, 2, 5, 6, [3, 2], [1, 1], [1, 0])],
    ];
    for (const [name, p] of CASES) {
      it(name, async () => {
        // Quarters in [−2, 2]: ties are common, and the first maximum in row-major order must win.
        const x = randomArray(rng, p.n * p.c * p.h * p.w, -2, 2).map((v) => Math.round(v * 4) / 4);
        if (x.length > 10) x[10] = NaN;
        const outLength = p.n * p.c * p.outH * p.outW;
        const dy = randomArray(rng, outLength);
        const deviceX = up(x);

        const y = new Float32Array(outLength);
        const indices = new Int32Array(outLength);
        ref.maxPool2dForward(x, y, indices, p);
        const deviceY = gpu.createArray(outLength);
        const deviceIndices = gpu.createArray(outLength, 'i32');
        gpuKernels.maxPool2dForward(gpu, deviceX, deviceY, deviceIndices, p);
        expectExact(await down(deviceY), y, 'max forward');
        expectExact(await gpu.downloadInt32(deviceIndices), indices, 'max indices');

        const window = p.kh * p.kw;
        const dx = new Float32Array(x.length);
        ref.maxPool2dBackward(dy, indices, dx, p);
        const dxMagnitude = new Float32Array(x.length);
        ref.maxPool2dBackward(abs(dy), indices, dxMagnitude, p);
        const deviceDx = gpu.createArray(x.length);
        gpuKernels.maxPool2dBackward(gpu, up(dy), deviceIndices, deviceDx, p);
        expectWithin(await down(deviceDx), dx, sumBound(window, dxMagnitude), 'max backward');

        const finiteX = randomArray(rng, x.length);
        const avg = new Float32Array(outLength);
        ref.avgPool2dForward(finiteX, avg, p);
        const avgMagnitude = new Float32Array(outLength);
        ref.avgPool2dForward(abs(finiteX), avgMagnitude, p);
        gpuKernels.avgPool2dForward(gpu, up(finiteX), deviceY, p);
        expectWithin(await down(deviceY), avg, sumBound(window, avgMagnitude), 'avg forward');

        const avgDx = new Float32Array(x.length);
        ref.avgPool2dBackward(dy, avgDx, p);
        const avgDxMagnitude = new Float32Array(x.length);
        ref.avgPool2dBackward(abs(dy), avgDxMagnitude, p);
        gpuKernels.avgPool2dBackward(gpu, up(dy), deviceDx, p);
        expectWithin(await down(deviceDx), avgDx, sumBound(window, avgDxMagnitude), 'avg backward');
      });
    }

    for (const [nc, hw] of [
      [1, 1],
      [3, 49],
      [256, 16],
    ] as const) {
      it(`global average pool of ${nc} planes of ${hw}`, async () => {
        const x = randomArray(rng, nc * hw);
        const y = new Float32Array(nc);
        ref.globalAvgPoolForward(x, y, nc, hw);
        const magnitude = new Float32Array(nc);
        ref.globalAvgPoolForward(abs(x), magnitude, nc, hw);
        const deviceY = gpu.createArray(nc);
        gpuKernels.globalAvgPoolForward(gpu, up(x), deviceY, nc, hw);
        expectWithin(await down(deviceY), y, sumBound(hw, magnitude), 'forward');

        const dy = randomArray(rng, nc);
        const dx = new Float32Array(nc * hw);
        ref.globalAvgPoolBackward(dy, dx, nc, hw);
        const deviceDx = gpu.createArray(nc * hw);
        gpuKernels.globalAvgPoolBackward(gpu, up(dy), deviceDx, nc, hw);
        expectExact(await down(deviceDx), dx, 'backward');
      });
    }
  });

  describe('batch norm', () => {
    for (const [n, c, spatial] of [
      [1, 1, 1],
      [2, 3, 1],
      [1, 5, 7],
      [4, 3, 25],
      [3, 2, 300],
      [128, 4, 64],
    ] as const) {
      it(`x [${n}, ${c}, ${spatial}]: train forward, backward, eval forward`, async () => {
        const p: BatchNormParams = { n, c, spatial, eps: 1e-5, momentum: 0.1 };
        const x = randomArray(rng, n * c * spatial, -2, 3);
        const gamma = randomArray(rng, c, 0.5, 1.5);
        const beta = randomArray(rng, c);
        const runningMean = randomArray(rng, c);
        const runningVar = randomArray(rng, c, 0.5, 2);
        const deviceRunningMean = up(runningMean);
        const deviceRunningVar = up(runningVar);
        const y = new Float32Array(x.length);
        const saveMean = new Float32Array(c);
        const saveInvStd = new Float32Array(c);
        ref.batchNormTrainForward(x, gamma, beta, y, saveMean, saveInvStd, runningMean, runningVar, p);
        const [deviceX, deviceGamma, deviceBeta] = [up(x), up(gamma), up(beta)];
        const deviceY = gpu.createArray(x.length);
        const [deviceMean, deviceInvStd] = [gpu.createArray(c), gpu.createArray(c)];
        gpuKernels.batchNormTrainForward(
          gpu,
          deviceX,
          deviceGamma,
          deviceBeta,
          deviceY,
          deviceMean,
          deviceInvStd,
          deviceRunningMean,
          deviceRunningVar,
          p,
        );
        expectWithin(await down(deviceY), y, relative(y), 'y');
        expectWithin(await down(deviceMean), saveMean, relative(saveMean), 'saved mean');
        // 1/sqrt(var + eps) is 316 for a constant channel (n·spatial = 1): relative, not absolute, error counts.
        expectWithin(await down(deviceInvStd), saveInvStd, (i) => 1e-5 * Math.abs(saveInvStd[i]!), 'saved 1/std');
        expectWithin(await down(deviceRunningMean), runningMean, relative(runningMean), 'running mean');
        expectWithin(await down(deviceRunningVar), runningVar, relative(runningVar), 'running var');

        const dy = randomArray(rng, x.length);
        const dx = new Float32Array(x.length);
        const dgamma = new Float32Array(c);
        const dbeta = new Float32Array(c);
        ref.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta, p);
        const deviceDx = gpu.createArray(x.length);
        const [deviceDgamma, deviceDbeta] = [gpu.createArray(c), gpu.createArray(c)];
        // From the reference's saved statistics, so the backward is tested on its own.
        gpuKernels.batchNormBackward(
          gpu,
          deviceX,
          up(dy),
          deviceGamma,
          up(saveMean),
          up(saveInvStd),
          deviceDx,
          deviceDgamma,
          deviceDbeta,
          p,
        );
        // Σdy and Σdy·x̂ are float32 sums of n·spatial terms, within sumError of the exact ones; dx then cancels
        // (m·dy − Σdy − x̂·Σdy·x̂), so its error is gamma·invStd/m times those sums' errors, plus its own roundings.
        const count = n * spatial;
        const xhat = (i: number): number => {
          const ch = Math.floor(i / spatial) % c;
          return (x[i]! - saveMean[ch]!) * saveInvStd[ch]!;
        };
        const absDy = new Float64Array(c);
        const absDyXhat = new Float64Array(c);
        for (let i = 0; i < x.length; i++) {
          const ch = Math.floor(i / spatial) % c;
          absDy[ch]! += Math.abs(dy[i]!);
          absDyXhat[ch]! += Math.abs(dy[i]! * xhat(i));
        }
        const sumError = (magnitude: number): number => 2 * (count + 4) * u * magnitude;
        const dxBound = (i: number): number => {
          const ch = Math.floor(i / spatial) % c;
          const factor = Math.abs((gamma[ch]! * saveInvStd[ch]!) / count);
          const cancelled = sumError(absDy[ch]!) + Math.abs(xhat(i)) * sumError(absDyXhat[ch]!);
          return factor * cancelled + 1e-5 * Math.max(1, Math.abs(dx[i]!));
        };
        expectWithin(await down(deviceDx), dx, dxBound, 'dx');
        expectWithin(await down(deviceDgamma), dgamma, (ch) => sumError(absDyXhat[ch]!), 'dgamma');
        expectWithin(await down(deviceDbeta), dbeta, (ch) => sumError(absDy[ch]!), 'dbeta');

        const evalY = new Float32Array(x.length);
        ref.batchNormEvalForward(x, gamma, beta, runningMean, runningVar, evalY, p);
        gpuKernels.batchNormEvalForward(
          gpu,
          deviceX,
          deviceGamma,
          deviceBeta,
          up(runningMean),
          up(runningVar),
          deviceY,
          p,
        );
        expectWithin(await down(deviceY), evalY, relative(evalY), 'eval y');
      });
    }
  });

  describe('Adam', () => {
    const base: AdamParams = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupled: false,
      step: 1,
    };
    for (const [name, config] of [
      ['Adam', {}],
      ['Adam with weight decay', { weightDecay: 1e-2 }],
      ['AdamW', { weightDecay: 1e-2, decoupled: true, lr: 3e-2 }],
    ] as const) {
      for (const length of [1, 257, 70_001]) {
        it(`${name}, length ${length}, three steps`, async () => {
          const param = randomArray(rng, length);
          const m = new Float32Array(length);
          const v = new Float32Array(length);
          const [deviceParam, deviceM, deviceV] = [up(param), up(m), up(v)];
          for (let step = 1; step <= 3; step++) {
            const grad = randomArray(rng, length);
            const p: AdamParams = { ...base, ...config, step };
            ref.adamUpdate(param, grad, m, v, p);
            gpuKernels.adamUpdate(gpu, deviceParam, up(grad), deviceM, deviceV, p);
            expectWithin(await down(deviceParam), param, relative(param), `param after step ${step}`);
            expectWithin(await down(deviceM), m, relative(m), `m after step ${step}`);
            expectWithin(await down(deviceV), v, relative(v), `v after step ${step}`);
          }
        });
      }
    }
  });
});

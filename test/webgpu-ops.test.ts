/**
 * Every op of src/tensor/ops on webgpu tensors against the same op on cpu tensors: the forward
 * values and every input's gradient (backward from a random output gradient, so that each
 * element of the output matters), on awkward shapes (odd sizes, batch 1, sizes off every tile).
 *
 * Tolerance, per compared tensor: |webgpu − cpu| ≤ 1e-4 · max(1, max |cpu|). The kernels' own
 * bounds are tested element by element in webgpu-kernels/webgpu-layers; here the question is
 * whether the ops wire the right kernels, arrays, shapes and gradient rules, which a wrong choice
 * breaks by far more than this.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  accuracyTensor,
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  crossEntropy,
  dropout,
  flatten,
  globalAvgPool2d,
  labels,
  linear,
  matmul,
  maxPool2d,
  mean,
  mul,
  relu,
  reluInPlace,
  releaseTensorWebGpu,
  Rng,
  scale,
  sum,
  tensor,
  useWebGpu,
  type Shape,
  type Tensor,
} from '../src/tensor/index.js';
import { randomArray } from './helpers/random.js';
import { webgpuMissing } from './helpers/webgpu.js';

const rng = new Rng(17, 'webgpu-ops');

interface Input {
  readonly shape: Shape;
  readonly values?: Float32Array | Int32Array;
  /** Whether the input requires gradients (default: float32 inputs do). */
  readonly grad?: boolean;
}

function size(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

async function expectClose(actual: Tensor, expected: Tensor, what: string): Promise<void> {
  expect(actual.device, what).toBe('webgpu');
  expect(actual.shape, what).toEqual(expected.shape);
  const got = await actual.read();
  const want = await expected.read();
  const scaleOf = Math.max(1, ...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * scaleOf))
      throw new Error(`${what}[${i}]: webgpu ${got[i]}, cpu ${want[i]} (scale ${scaleOf})`);
  }
}

/** Runs `op` on cpu tensors and on webgpu copies; compares the output and every input's gradient. */
async function compareOnDevices(what: string, inputs: readonly Input[], op: (xs: Tensor[]) => Tensor): Promise<void> {
  const hostValues = inputs.map((input) => input.values ?? randomArray(rng, size(input.shape)));
  const make = async (onDevice: boolean): Promise<Tensor[]> => {
    const made: Tensor[] = [];
    for (const [i, input] of inputs.entries()) {
      let t = tensor(hostValues[i]!, input.shape, { copy: true });
      if (onDevice) t = await t.to('webgpu');
      if (t.dtype === 'float32' && input.grad !== false) t.requireGrad();
      made.push(t);
    }
    return made;
  };
  const cpuInputs = await make(false);
  const gpuInputs = await make(true);
  const cpuOut = op(cpuInputs);
  const gpuOut = op(gpuInputs);
  await expectClose(gpuOut, cpuOut, `${what}: forward`);
  if (!cpuOut.requiresGrad) return;
  const outputGrad = randomArray(rng, cpuOut.size);
  cpuOut.backward(outputGrad);
  gpuOut.backward(outputGrad);
  for (const [i, cpuInput] of cpuInputs.entries()) {
    if (!cpuInput.requiresGrad) continue;
    await expectClose(gpuInputs[i]!.grad!, cpuInput.grad!, `${what}: gradient of input ${i}`);
  }
}

describe.skipIf(webgpuMissing)('ops on webgpu tensors against the cpu ops', () => {
  beforeAll(async () => {
    await useWebGpu();
  });
  afterAll(async () => {
    await releaseTensorWebGpu();
  });

  it('matmul: 3×5 · 5×7 and 1×1 · 1×4', async () => {
    await compareOnDevices('matmul', [{ shape: [3, 5] }, { shape: [5, 7] }], ([a, b]) => matmul(a!, b!));
    await compareOnDevices('matmul 1', [{ shape: [1, 1] }, { shape: [1, 4] }], ([a, b]) => matmul(a!, b!));
  });

  it('linear with and without bias, batch 1 and batch 7', async () => {
    const cases: [number, number, number][] = [
      [1, 3, 5],
      [7, 13, 9],
    ];
    for (const [rows, inF, outF] of cases) {
      await compareOnDevices(
        `linear ${rows}×${inF}→${outF}`,
        [{ shape: [rows, inF] }, { shape: [outF, inF] }, { shape: [outF] }],
        ([x, w, b]) => linear(x!, w!, b!),
      );
      await compareOnDevices(
        `linear ${rows}×${inF}→${outF}, no bias`,
        [{ shape: [rows, inF] }, { shape: [outF, inF] }],
        ([x, w]) => linear(x!, w!, null),
      );
    }
  });

  it('conv2d: stride 2×1, padding 1, odd sizes, with and without bias; 1×1 stride 2 on batch 1', async () => {
    await compareOnDevices('conv2d', [{ shape: [2, 3, 5, 7] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], ([x, w, b]) =>
      conv2d(x!, w!, b!, { stride: [2, 1], padding: 1 }),
    );
    await compareOnDevices('conv2d 1×1', [{ shape: [1, 3, 5, 5] }, { shape: [2, 3, 1, 1] }], ([x, w]) =>
      conv2d(x!, w!, null, { stride: 2 }),
    );
  });

  it('max pooling (padding, overlapping windows) and average pooling (unequal kernel)', async () => {
    await compareOnDevices('maxPool2d', [{ shape: [1, 3, 5, 5] }], ([x]) =>
      maxPool2d(x!, { kernelSize: 3, stride: 2, padding: 1 }),
    );
    await compareOnDevices('avgPool2d', [{ shape: [2, 1, 7, 6] }], ([x]) => avgPool2d(x!, { kernelSize: [2, 3] }));
    await compareOnDevices('globalAvgPool2d', [{ shape: [1, 3, 5, 3] }], ([x]) => globalAvgPool2d(x!));
  });

  for (const training of [true, false]) {
    it(`batch norm in ${training ? 'train' : 'eval'} mode, 2-d and 1-d, with its running statistics`, async () => {
      for (const shape of [
        [3, 4, 5, 3],
        [2, 5],
      ] as Shape[]) {
        const c = shape[1]!;
        const runningCpu = [tensor(randomArray(rng, c), [c]), tensor(randomArray(rng, c, 0.5, 2), [c])];
        const runningGpu = [await runningCpu[0]!.to('webgpu'), await runningCpu[1]!.to('webgpu')];
        let call = 0;
        await compareOnDevices(
          `batchNorm ${training} ${shape.join('×')}`,
          [{ shape }, { shape: [c] }, { shape: [c] }],
          ([x, gamma, beta]) => {
            const [mean, variance] = call++ === 0 ? runningCpu : runningGpu;
            return batchNorm(x!, gamma!, beta!, mean!, variance!, { training, momentum: 0.3 });
          },
        );
        await expectClose(runningGpu[0]!, runningCpu[0]!, 'running mean');
        await expectClose(runningGpu[1]!, runningCpu[1]!, 'running variance');
      }
    });
  }

  it('relu, reluInPlace, add, mul, scale, sum, mean, flatten', async () => {
    const shape = [3, 2, 5];
    await compareOnDevices('relu', [{ shape }], ([x]) => relu(x!));
    await compareOnDevices('reluInPlace', [{ shape }], ([x]) => reluInPlace(scale(x!, 1)));
    await compareOnDevices('add', [{ shape }, { shape }], ([a, b]) => add(a!, b!));
    await compareOnDevices('mul', [{ shape }, { shape }], ([a, b]) => mul(a!, b!));
    await compareOnDevices('scale', [{ shape }], ([x]) => scale(x!, -2.5));
    await compareOnDevices('sum', [{ shape: [257] }], ([x]) => sum(x!));
    await compareOnDevices('mean', [{ shape: [1, 7] }], ([x]) => mean(x!));
    await compareOnDevices('flatten', [{ shape }], ([x]) => flatten(relu(x!)));
  });

  it('accumulates the gradient of a tensor used by several ops', async () => {
    await compareOnDevices('shared input', [{ shape: [4, 3] }, { shape: [3, 5] }], ([x, w]) =>
      add(relu(matmul(x!, w!)), matmul(mul(x!, x!), w!)),
    );
  });

  it('cross-entropy: the loss stays a one-element device tensor; batch 1 and 5×7', async () => {
    for (const [rows, classes] of [
      [1, 3],
      [5, 7],
    ] as [number, number][]) {
      const targets = Int32Array.from({ length: rows }, (_, i) => (i * 3) % classes);
      await compareOnDevices(
        `crossEntropy ${rows}×${classes}`,
        [{ shape: [rows, classes] }, { shape: [rows], values: targets, grad: false }],
        ([z, y]) => crossEntropy(z!, y!),
      );
    }
  });

  it('accuracy (ties to the first maximum) as a device tensor', async () => {
    const logits = tensor([1, 3, 3, 0, 2, 2, 5, 5, 5, -1, 0, -1], [4, 3]);
    const targets = labels([1, 1, 0, 2]);
    const expected = accuracy(logits, targets);
    expect(expected).toBe(0.75);
    const onDevice = accuracyTensor(await logits.to('webgpu'), await targets.to('webgpu'));
    expect(Array.from(await onDevice.read())).toEqual([expected]);
  });

  it('dropout draws the same mask from the same stream on both devices', async () => {
    const make = (): Rng => new Rng(5, 'dropout');
    const [cpuRng, gpuRng] = [make(), make()];
    let call = 0;
    await compareOnDevices('dropout', [{ shape: [3, 33] }], ([x]) =>
      dropout(x!, 0.4, { training: true, rng: call++ === 0 ? cpuRng : gpuRng }),
    );
    expect(gpuRng.uniform()).toBe(cpuRng.uniform());
  });

  it('reading a webgpu tensor synchronously says how to read it', async () => {
    const t = await tensor([1, 2], [2], { name: 'w' }).to('webgpu');
    expect(() => t.data).toThrow(/tensor 'w' \[2\] is on webgpu.*await tensor\.read\(\)/);
    expect(() => t.reshape([2, 1]).toArray()).toThrow(/is on webgpu/);
    await expect(async () => (await sum(t).to('webgpu')).item()).rejects.toThrow(/is on webgpu/);
    expect(Array.from(await t.read())).toEqual([1, 2]);
    expect(Array.from((await t.to('cpu')).data)).toEqual([1, 2]);
  });

  it('an op mixing devices names both tensors', async () => {
    const a = tensor([1, 2], [1, 2], { name: 'a' });
    const b = await tensor([1, 2], [1, 2], { name: 'b' }).to('webgpu');
    expect(() => add(a, b)).toThrow("add: tensor 'a' [1, 2] is on cpu but tensor 'b' [1, 2] is on webgpu");
  });
});

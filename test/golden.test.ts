/**
 * randlab against PyTorch, on fixtures written by tools/golden.py: the same MLP, CNN and ResNet
 * block, loaded from PyTorch's state_dict, must give PyTorch's logits, loss, gradients, BatchNorm
 * running statistics, and parameters after 3 optimiser steps, on every kernel backend.
 * When PyTorch is installed (not in CI), it must also load randlab's checkpoints with strict=True.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, saveCheckpoint, writeSafetensors, checkpointFiles } from '../src/checkpoint/index.js';
import { setKernels, type BackendName, type Kernels } from '../src/kernels/index.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import {
  BatchNorm2d,
  Conv2d,
  Flatten,
  GlobalAvgPool2d,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
} from '../src/nn/index.js';
import { Adam, AdamW, SGD, type Optimizer, type Hyperparameters } from '../src/optim/index.js';
import { add, crossEntropy, noGrad, relu, tidy, type Tensor } from '../src/tensor/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'golden');
const PYTHON = '/usr/bin/python3';
const TOLERANCE = 1e-4;

class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(outChannels));
    this.conv2 = this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outChannels));
    this.downsample = this.registerModule(
      'downsample',
      new Sequential(new Conv2d(inChannels, outChannels, 1, { stride, bias: false }), new BatchNorm2d(outChannels)),
    );
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.call(this.conv2.call(relu(this.bn1.call(this.conv1.call(x)))));
    return relu(add(out, this.downsample.call(x)));
  }
}

class ResBlockNet extends Module {
  readonly block = this.registerModule('block', new BasicBlock(3, 16, 2));
  readonly pool = this.registerModule('pool', new GlobalAvgPool2d());
  readonly fc = this.registerModule('fc', new Linear(16, 5));

  forward(x: Tensor): Tensor {
    return this.fc.call(this.pool.call(this.block.call(x)));
  }
}

const MODELS: Record<string, () => Module> = {
  mlp: () => new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 16), new ReLU(), new Linear(16, 5)),
  cnn: () =>
    new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(96, 5),
    ),
  resblock: () => new ResBlockNet(),
};

function loadModel(name: string): Module {
  const model = MODELS[name]!();
  model.loadStateDict(readSafetensors(join(FIXTURES, `${name}.weights.safetensors`)).tensors, { strict: true });
  return model;
}

function golden(name: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  return readSafetensors(join(FIXTURES, `${name}.golden.safetensors`));
}

function fixture(tensors: Map<string, Tensor>, key: string): Tensor {
  const t = tensors.get(key);
  if (!t) throw new Error(`golden fixture has no tensor '${key}'`);
  return t;
}

function norm(values: number[]): number {
  return Math.sqrt(values.reduce((total, v) => total + v * v, 0));
}

/**
 * ‖actual − expected‖ / max(‖expected‖, floor), over the whole tensor: per-element relative error
 * is meaningless near 0, and `floor` keeps a tensor that is mathematically zero (float32 noise
 * in both programs, like the gradient of a conv bias followed by BatchNorm) from dividing noise by noise.
 */
function relativeError(actual: Tensor, expected: Tensor, floor: number): number {
  expect(actual.shape).toEqual(expected.shape);
  const e = expected.toArray();
  const diff = actual.toArray().map((a, i) => a - e[i]!);
  return norm(diff) / Math.max(norm(e), floor, Number.MIN_VALUE);
}

function expectClose(actual: Tensor, expected: Tensor, what: string, floor = 0): void {
  const error = relativeError(actual, expected, floor);
  expect(error, `${what}: relative error ${error}`).toBeLessThanOrEqual(TOLERANCE);
}

function expectBuffers(model: Module, tensors: Map<string, Tensor>, prefix: string): void {
  for (const [key, buffer] of model.namedBuffers()) {
    const expected = fixture(tensors, `${prefix}${key}`);
    if (buffer.dtype === 'int32') expect(buffer.toArray(), key).toEqual(expected.toArray());
    else expectClose(buffer, expected, key);
  }
}

function makeOptimizer(model: Module, settingsJson: string): Optimizer<Hyperparameters> {
  const { kind, ...settings } = JSON.parse(settingsJson) as { kind: string; lr: number } & Record<
    string,
    number | boolean
  >;
  const params = model.namedParameters();
  if (kind === 'sgd') return new SGD(params, settings);
  if (kind === 'adam') return new Adam(params, settings);
  if (kind === 'adamw') return new AdamW(params, settings);
  throw new Error(`unknown optimiser kind '${kind}' in fixture metadata`);
}

function trainStep(model: Module, x: Tensor, y: Tensor, optimizer: Optimizer<Hyperparameters>): void {
  optimizer.zeroGrad();
  tidy(() => {
    crossEntropy(model.call(x), y).backward();
  });
  optimizer.step();
}

function evalLogits(model: Module, x: Tensor): Tensor {
  model.eval();
  const logits = noGrad(() => model.call(x));
  model.train();
  return logits;
}

const backends: BackendName[] = loadNativeKernels().kernels ? ['ts', 'native'] : ['ts'];
const modelNames = Object.keys(MODELS);

describe.each(backends)('PyTorch golden fixtures, %s kernels', (backend) => {
  let previous: Kernels;
  beforeAll(() => {
    previous = setKernels(backend);
  });
  afterAll(() => {
    setKernels(previous);
  });

  describe.each(modelNames)('%s', (name) => {
    const { tensors, metadata } = golden(name);
    const x = fixture(tensors, 'input');
    const y = fixture(tensors, 'labels');

    it('gives PyTorch’s logits, loss, gradients and running statistics', () => {
      const model = loadModel(name);
      const logits = model.call(x);
      const loss = crossEntropy(logits, y);
      loss.backward();
      expectClose(logits, fixture(tensors, 'logits'), 'logits');
      expectClose(loss, fixture(tensors, 'loss'), 'loss');
      // A parameter's gradient error is measured against 1e-3 of the whole gradient's norm at least.
      const gradientNorm = norm(model.namedParameters().flatMap(([key]) => fixture(tensors, `grad.${key}`).toArray()));
      for (const [key, p] of model.namedParameters()) {
        expect(p.grad, `gradient of ${key}`).not.toBeNull();
        expectClose(p.grad!, fixture(tensors, `grad.${key}`), `gradient of ${key}`, 1e-3 * gradientNorm);
      }
      expectBuffers(model, tensors, 'after_forward.');
    });

    const runs = Object.keys(metadata)
      .filter((k) => k.startsWith('optimizer.'))
      .map((k) => k.slice('optimizer.'.length));
    it.each(runs)('matches PyTorch after %s steps', (run) => {
      const steps = Number(metadata.steps);
      const model = loadModel(name);
      const optimizer = makeOptimizer(model, metadata[`optimizer.${run}`]!);
      for (let i = 0; i < steps; i++) trainStep(model, x, y, optimizer);
      const prefix = `${run}.step${steps}.`;
      for (const [key, p] of model.namedParameters())
        expectClose(p, fixture(tensors, `${prefix}${key}`), `${key} after ${steps} ${run} steps`);
      expectBuffers(model, tensors, prefix);
      expectClose(evalLogits(model, x), fixture(tensors, `${prefix}eval_logits`), 'eval-mode logits');
    });
  });
});

function torchAvailable(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  return probe.status === 0;
}

const requireTorch = process.env.RANDLAB_REQUIRE_TORCH === '1';
const withTorch = requireTorch || torchAvailable();

describe('PyTorch loads randlab checkpoints', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'randlab-golden-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!withTorch).each(modelNames)('%s: load_state_dict(strict=True) and the same eval logits', (name) => {
    const { tensors, metadata } = golden(name);
    const x = fixture(tensors, 'input');
    const model = loadModel(name);
    const optimizer = makeOptimizer(model, metadata['optimizer.sgd']!);
    trainStep(model, x, fixture(tensors, 'labels'), optimizer); // values the fixture does not hold
    const path = join(dir, name);
    saveCheckpoint(path, { model, optimizer });
    const expectPath = join(dir, `${name}.expect.safetensors`);
    writeSafetensors(expectPath, new Map([['logits', evalLogits(model, x)]]));
    const result = spawnSync(
      PYTHON,
      [
        'tools/golden.py',
        'check-load',
        '--model',
        name,
        '--checkpoint',
        checkpointFiles(path).model,
        '--expect',
        expectPath,
      ],
      {
        cwd: join(import.meta.dirname, '..'),
        encoding: 'utf8',
      },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});

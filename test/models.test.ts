import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../src/checkpoint/index.js';
import { createModel, listModels, type ModelOptions } from '../src/models/index.js';
import { Conv2d, Linear } from '../src/nn/index.js';
import { noGrad, Rng, tidy, type Tensor } from '../src/tensor/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'models');

interface Fixture {
  model: string;
  options: ModelOptions;
  stateDict: Array<{ key: string; shape: number[]; dtype: 'F32' | 'I64' }>;
  forward?: { batch: number };
}

const fixtures = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({
    name: name.replace(/\.json$/, ''),
    fixture: JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Fixture,
  }));

function listing(state: Map<string, Tensor>): Fixture['stateDict'] {
  return [...state].map(([key, t]) => ({ key, shape: [...t.shape], dtype: t.dtype === 'int32' ? 'I64' : 'F32' }));
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  const worst = Math.max(...Array.from(actual, (v, i) => Math.abs(v - expected[i]!)));
  expect(worst / scale).toBeLessThan(tolerance);
}

describe('state_dict keys and shapes match the PyTorch definitions (tools/check_state_dict.py)', () => {
  it('covers every registered model', () => {
    const covered = new Set(fixtures.map((f) => f.fixture.model));
    expect([...covered].sort()).toEqual(
      listModels()
        .map((m) => m.name)
        .sort(),
    );
  });

  for (const { name, fixture } of fixtures) {
    it(`${name}: same keys, order, shapes and dtypes as PyTorch`, () => {
      const model = createModel(fixture.model, { ...fixture.options, initScheme: 'torch_default' });
      expect(listing(model.stateDict())).toEqual(fixture.stateDict);
    });
  }
});

describe('forward pass equals PyTorch on PyTorch-written weights', () => {
  for (const { name, fixture } of fixtures.filter((f) => f.fixture.forward)) {
    it(`${name}: logits in eval and train mode`, () => {
      const model = createModel(fixture.model, fixture.options);
      const weights = readSafetensors(join(FIXTURES, `${name}.weights.safetensors`)).tensors;
      model.loadStateDict(weights);
      const io = readSafetensors(join(FIXTURES, `${name}.io.safetensors`)).tensors;
      const input = io.get('input')!;
      const evalLogits = noGrad(() => tidy(() => model.eval().call(input).data.slice()));
      expectClose(evalLogits, io.get('logits_eval')!.data, 1e-4);
      const trainLogits = noGrad(() => tidy(() => model.train().call(input).data.slice()));
      expectClose(trainLogits, io.get('logits_train')!.data, 1e-4);
    });
  }
});

describe('initialisation', () => {
  it('draws He-normal weights times initScale, zero biases, and is a function of the seed', () => {
    const options = { numClasses: 10, inputShape: [3, 8, 8], widths: [64, 32], initScale: 0.3 } as const;
    const a = createModel('cnn2', { ...options, rng: new Rng(7, 'init') });
    const b = createModel('cnn2', { ...options, rng: new Rng(7, 'init') });
    const c = createModel('cnn2', { ...options, rng: new Rng(8, 'init') });
    const conv = a.firstLayer as Conv2d;
    const w = conv.weight.data;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeCloseTo(0.3 * Math.sqrt(2 / 27), 2);
    expect(conv.bias!.data.every((v) => v === 0)).toBe(true);
    expect(b.firstLayer.weight.data).toEqual(w);
    expect(c.firstLayer.weight.data).not.toEqual(w);
  });

  it('knows each model’s first layer and head', () => {
    const shapes = {
      mlp: [3, 8, 8],
      cnn2: [3, 8, 8],
      vgg11: [3, 32, 32],
      vgg16: [3, 32, 32],
      resnet18: [3, 8, 8],
      'wrn-28-4': [3, 8, 8],
    } as const;
    const expected = {
      mlp: ['fc1', 'fc3'],
      cnn2: ['conv1', 'fc2'],
      vgg11: ['features.0', 'classifier'],
      vgg16: ['features.0', 'classifier'],
      resnet18: ['conv1', 'fc'],
      'wrn-28-4': ['conv1', 'fc'],
    } as const;
    for (const { name } of listModels()) {
      const model = createModel(name, {
        numClasses: 4,
        inputShape: shapes[name as keyof typeof shapes],
        widths:
          name === 'mlp'
            ? [8, 8]
            : name === 'cnn2'
              ? [4, 4]
              : name.startsWith('vgg')
                ? Array(name === 'vgg11' ? 8 : 13).fill(4)
                : [4, 4, 4, 4],
      });
      expect([model.firstLayerPath, model.headPath]).toEqual(expected[name as keyof typeof expected]);
      expect(model.firstLayer).toBeInstanceOf(name === 'mlp' ? Linear : Conv2d);
      expect(model.head.outFeatures).toBe(4);
    }
  });

  it('reinitializeHead draws a fresh head and leaves the rest', () => {
    const model = createModel('cnn2', { numClasses: 3, inputShape: [3, 6, 6], widths: [4, 5] });
    const conv = model.firstLayer.weight.data.slice();
    const head = model.head.weight.data.slice();
    model.reinitializeHead({ rng: new Rng(99, 'head') });
    expect(model.firstLayer.weight.data).toEqual(conv);
    expect(model.head.weight.data).not.toEqual(head);
  });
});

describe('errors name the model, the option and what is allowed', () => {
  const base = { numClasses: 10, inputShape: [3, 32, 32] } as const;
  it('unknown model', () => {
    expect(() => createModel('vgg19', base)).toThrow(
      "unknown model 'vgg19' (available: mlp, cnn2, vgg11, vgg16, resnet18, wrn-28-4)",
    );
  });
  it('input too small or not an image', () => {
    expect(() => createModel('vgg16', { ...base, inputShape: [3, 16, 16] })).toThrow(
      'vgg16 needs images of at least 32×32, got input shape [3, 16, 16]',
    );
    expect(() => createModel('cnn2', { ...base, inputShape: [30] })).toThrow(
      'cnn2 needs image inputs [C, H, W], got input shape [30]',
    );
  });
  it('widths of the wrong length', () => {
    expect(() => createModel('resnet18', { ...base, widths: [8, 8] })).toThrow(
      'resnet18: widths must be 4 positive integers (channels of the four stages), got [8, 8]',
    );
  });
  it('bad stem kernel and variant', () => {
    expect(() => createModel('wrn-28-4', { ...base, firstKernel: 4 })).toThrow(
      'wrn-28-4: firstKernel must be an odd positive integer (3, 5, …), got 4',
    );
    expect(() => createModel('resnet18', { ...base, variant: 'tiny' as 'cifar' })).toThrow(
      "resnet18: variant must be 'cifar' or 'imagenet', got 'tiny'",
    );
  });
});

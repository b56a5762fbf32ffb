/** nn: module tree, PyTorch state_dict keys, loading, modes, hooks and the layers' contracts. */
import { describe, expect, it } from 'vitest';
import {
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  GlobalAvgPool2d,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  initializeModule,
  reluOnOutput,
} from '../src/nn/index.js';
import { add, noGrad, relu, Rng, sum, tensor, tidy, type Tensor } from '../src/tensor/index.js';

class Block extends Module {
  readonly conv1 = this.registerModule('conv1', new Conv2d(3, 4, 3, { padding: 1, bias: false }));
  readonly bn1 = this.registerModule('bn1', new BatchNorm2d(4));
  readonly downsample = this.registerModule(
    'downsample',
    new Sequential(new Conv2d(3, 4, 1, { bias: false }), new BatchNorm2d(4)),
  );

  forward(x: Tensor): Tensor {
    return relu(add(this.bn1.call(this.conv1.call(x)), this.downsample.call(x)));
  }
}

class Net extends Module {
  readonly layer1 = this.registerModule('layer1', new Sequential(new Block()));
  readonly pool = this.registerModule('pool', new GlobalAvgPool2d());
  readonly fc = this.registerModule('fc', new Linear(4, 3));

  forward(x: Tensor): Tensor {
    return this.fc.call(this.pool.call(this.layer1.call(x)));
  }
}

function randomInput(shape: number[], seed = 1): Tensor {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  new Rng(seed, 'test').fillNormal(values);
  return tensor(values, shape);
}

function initialized<M extends Module>(module: M, seed = 7): M {
  initializeModule(module, { scheme: 'torch_default', rng: new Rng(seed, 'init') });
  return module;
}

const NET_KEYS = [
  'layer1.0.conv1.weight',
  'layer1.0.bn1.weight',
  'layer1.0.bn1.bias',
  'layer1.0.bn1.running_mean',
  'layer1.0.bn1.running_var',
  'layer1.0.bn1.num_batches_tracked',
  'layer1.0.downsample.0.weight',
  'layer1.0.downsample.1.weight',
  'layer1.0.downsample.1.bias',
  'layer1.0.downsample.1.running_mean',
  'layer1.0.downsample.1.running_var',
  'layer1.0.downsample.1.num_batches_tracked',
  'fc.weight',
  'fc.bias',
];

describe('module tree and state_dict keys', () => {
  it('uses PyTorch’s keys and order, buffers included', () => {
    const net = new Net();
    expect([...net.stateDict().keys()]).toEqual(NET_KEYS);
    expect(net.namedParameters().map(([k]) => k)).toEqual(
      NET_KEYS.filter((k) => !k.includes('running') && !k.includes('num_batches')),
    );
    expect(net.namedBuffers().map(([k]) => k)).toEqual(
      NET_KEYS.filter((k) => k.includes('running') || k.includes('num_batches')),
    );
  });

  it('names every tensor by its key, also when a subtree is attached after construction', () => {
    const layer = new Linear(2, 3);
    expect(layer.weight.name).toBe('weight');
    const inner = new Sequential(layer);
    expect(layer.weight.name).toBe('0.weight');
    const outer = new Sequential(new ReLU(), inner);
    for (const [key, t] of outer.stateDict()) expect(t.name).toBe(key);
    expect(outer.stateDict().has('1.0.weight')).toBe(true);
    expect(inner.path).toBe('1');
  });

  it('stores num_batches_tracked as an int32 scalar and parameters as gradient leaves', () => {
    const bn = new BatchNorm2d(4);
    expect(bn.numBatchesTracked.dtype).toBe('int32');
    expect(bn.numBatchesTracked.shape).toEqual([]);
    expect(bn.weight.requiresGrad).toBe(true);
    expect(bn.runningMean.requiresGrad).toBe(false);
    expect(bn.runningVar.toArray()).toEqual([1, 1, 1, 1]);
  });

  it('lists modules with dotted paths and finds submodules', () => {
    const net = new Net();
    expect(net.namedModules().map(([k]) => k)).toEqual([
      '',
      'layer1',
      'layer1.0',
      'layer1.0.conv1',
      'layer1.0.bn1',
      'layer1.0.downsample',
      'layer1.0.downsample.0',
      'layer1.0.downsample.1',
      'pool',
      'fc',
    ]);
    expect(net.getSubmodule('layer1.0.conv1')).toBe(net.layer1.at(0).getSubmodule('conv1'));
    expect(net.getSubmodule('layer1.0.downsample.1')).toBeInstanceOf(BatchNorm2d);
    expect(net.getSubmodule('')).toBe(net);
    expect(() => net.getSubmodule('layer1.0.conv9')).toThrow(
      /'layer1\.0'.*has no child 'conv9'.*conv1, bn1, downsample/,
    );
  });

  it('refuses duplicate names, dotted names and modules that already have a parent', () => {
    const shared = new Linear(2, 2);
    new Sequential(shared);
    expect(() => new Sequential(shared)).toThrow(/already belongs to '0'/);
    class Twice extends Module {
      constructor() {
        super();
        this.registerModule('a', new ReLU());
        this.registerModule('a', new ReLU());
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Twice()).toThrow(/'a' is already registered/);
    class Dotted extends Module {
      constructor() {
        super();
        this.registerModule('a.b', new ReLU());
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Dotted()).toThrow(/contain no '\.'/);
  });

  it('keeps parameters alive when built inside tidy', () => {
    const layer = tidy(() => new Linear(3, 2));
    expect(layer.weight.isDisposed).toBe(false);
    expect(layer.weight.toArray()).toHaveLength(6);
  });
});

describe('loadStateDict', () => {
  it('copies values (not the tensors) and round-trips a state_dict', () => {
    const a = initialized(new Net(), 1);
    const b = initialized(new Net(), 2);
    a.getSubmodule('layer1.0.bn1').stateDict().get('num_batches_tracked')!.ints[0] = 5;
    b.loadStateDict(a.stateDict());
    for (const [key, t] of b.stateDict()) {
      expect(t.toArray(), key).toEqual(a.stateDict().get(key)!.toArray());
      expect(t).not.toBe(a.stateDict().get(key));
    }
    expect((b.getSubmodule('layer1.0.bn1') as BatchNorm2d).numBatchesTracked.item()).toBe(5);
  });

  it('accepts a plain object', () => {
    const a = initialized(new Linear(2, 2), 3);
    const b = new Linear(2, 2);
    b.loadStateDict(Object.fromEntries(a.stateDict()));
    expect(b.weight.toArray()).toEqual(a.weight.toArray());
  });

  it('names missing and unexpected keys when strict, and returns them when not', () => {
    const net = new Net();
    const state = new Map(net.stateDict());
    state.delete('fc.bias');
    state.delete('layer1.0.bn1.num_batches_tracked');
    state.set('fc.extra', tensor([1]));
    expect(() => net.loadStateDict(state)).toThrow(
      /missing keys: layer1\.0\.bn1\.num_batches_tracked, fc\.bias; unexpected keys: fc\.extra/,
    );
    const result = net.loadStateDict(state, { strict: false });
    expect(result.missingKeys).toEqual(['layer1.0.bn1.num_batches_tracked', 'fc.bias']);
    expect(result.unexpectedKeys).toEqual(['fc.extra']);
  });

  it('rejects shape and dtype mismatches even when not strict, and changes nothing', () => {
    const net = initialized(new Net());
    const before = net.fc.weight.toArray();
    const state = new Map(net.stateDict());
    state.set('fc.weight', tensor(new Float32Array(12), [4, 3]));
    state.set('layer1.0.bn1.num_batches_tracked', tensor([0], []));
    state.set('fc.bias', tensor([9, 9, 9]));
    expect(() => net.loadStateDict(state, { strict: false })).toThrow(
      /'layer1\.0\.bn1\.num_batches_tracked': dtype float32 in the state dict, int32 in the model; 'fc\.weight': shape \[4, 3\] in the state dict, \[3, 4\] in the model/,
    );
    expect(net.fc.weight.toArray()).toEqual(before);
    expect(net.fc.bias!.toArray()).not.toEqual([9, 9, 9]);
  });
});

describe('train and eval', () => {
  it('switches the whole tree', () => {
    const net = new Net();
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
  });

  it('BatchNorm updates running statistics and its counter only in training mode', () => {
    const bn = new BatchNorm2d(2, { momentum: 0.5 });
    const x = randomInput([3, 2, 2, 2]);
    noGrad(() => bn.call(x));
    expect(bn.numBatchesTracked.item()).toBe(1);
    const mean = bn.runningMean.toArray();
    expect(mean.some((m) => m !== 0)).toBe(true);
    bn.eval();
    const y = noGrad(() => bn.call(x));
    expect(bn.numBatchesTracked.item()).toBe(1);
    expect(bn.runningMean.toArray()).toEqual(mean);
    // Eval mode is the fixed affine map (x − running_mean) / √(running_var + eps).
    const v = bn.runningVar.toArray();
    const xs = x.toArray();
    const ys = y.toArray();
    for (let i = 0; i < xs.length; i++) {
      const c = Math.floor(i / 4) % 2;
      expect(ys[i]).toBeCloseTo((xs[i]! - mean[c]!) / Math.sqrt(v[c]! + 1e-5), 5);
    }
  });

  it('BatchNorm1d takes [N, C] and [N, C, L] and normalises each channel', () => {
    const bn = new BatchNorm1d(3);
    const flat = bn.call(randomInput([5, 3]));
    expect(flat.shape).toEqual([5, 3]);
    const y = bn.call(randomInput([4, 3, 6], 2));
    expect(y.shape).toEqual([4, 3, 6]);
    const values = y.toArray();
    for (let c = 0; c < 3; c++) {
      const channel = values.filter((_, i) => Math.floor(i / 6) % 3 === c);
      const mean = channel.reduce((a, b) => a + b, 0) / channel.length;
      const variance = channel.reduce((a, b) => a + (b - mean) ** 2, 0) / channel.length;
      expect(mean).toBeCloseTo(0, 5);
      expect(variance).toBeCloseTo(1, 3);
    }
    expect(() => bn.call(randomInput([2, 3, 2, 2]))).toThrow(/BatchNorm1d.*expects input \[N, C\] or \[N, C, L\]/);
  });
});

describe('layers', () => {
  it('compute the documented output shapes', () => {
    const x = randomInput([2, 3, 9, 7]);
    expect(new Conv2d(3, 5, [3, 1], { stride: [2, 1], padding: [1, 0] }).call(x).shape).toEqual([2, 5, 5, 7]);
    expect(new MaxPool2d(2).call(x).shape).toEqual([2, 3, 4, 3]);
    expect(new AvgPool2d(3, { stride: 2, padding: 1 }).call(x).shape).toEqual([2, 3, 5, 4]);
    expect(new GlobalAvgPool2d().call(x).shape).toEqual([2, 3]);
    expect(new Flatten().call(x).shape).toEqual([2, 189]);
    expect(new Linear(4, 6, { bias: false }).stateDict().has('bias')).toBe(false);
  });

  it('name the layer and the expected shape when the input does not fit', () => {
    const net = new Sequential(new Linear(4, 3), new ReLU(), new Linear(5, 2));
    expect(() => net.call(randomInput([2, 4]))).toThrow(
      /^2: Linear\(5, 2, bias=true\) expects input \[N, 5\], got \[2, 3\]/,
    );
    expect(() => new Conv2d(3, 4, 3).call(randomInput([2, 2, 5, 5]))).toThrow(
      /expects input \[N, 3, H, W\], got \[2, 2, 5, 5\]/,
    );
    expect(() => new BatchNorm2d(3).call(randomInput([2, 4, 2, 2]))).toThrow(/expects 3 channels/);
  });

  it('reject invalid constructor arguments', () => {
    expect(() => new Linear(0, 3)).toThrow(/inFeatures must be a positive integer, got 0/);
    expect(() => new Conv2d(3, 4, 3, { stride: 0 })).toThrow(/strideHeight must be a positive integer/);
    expect(() => new Dropout(1)).toThrow(/p must be in \[0, 1\)/);
    expect(() => new BatchNorm2d(4, { momentum: 2 })).toThrow(/momentum must be in \[0, 1\]/);
  });
});

describe('Dropout', () => {
  it('needs a generator in training mode and is the identity in eval mode', () => {
    const net = new Sequential(new Linear(4, 4), new Dropout(0.5));
    const x = randomInput([3, 4]);
    expect(() => net.call(x)).toThrow(/^1: no random generator for the dropout masks/);
    net.eval();
    const y = net.call(x);
    const linearOnly = net.at(0).call(x);
    expect(y.toArray()).toEqual(linearOnly.toArray());
  });

  it('draws its masks from the tree’s generator, reproducibly', () => {
    const run = (): number[] => {
      const net = new Sequential(new Dropout(0.5), new Dropout(0.25));
      net.setDropoutRng(new Rng(3, 'dropout'));
      return net.call(tensor(new Float32Array(64).fill(1), [4, 16])).toArray();
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([0, Math.fround(2 / 0.75)]));
  });
});

describe('hooks', () => {
  it('forward hooks see each named layer’s input and output, and can be removed', () => {
    const net = initialized(new Net());
    const seen: Array<[string, number[], number[]]> = [];
    const remove = net.getSubmodule('layer1.0.bn1').registerForwardHook((module, input, output) => {
      seen.push([module.path, [...input.shape], [...output.shape]]);
    });
    net.call(randomInput([2, 3, 5, 5]));
    expect(seen).toEqual([['layer1.0.bn1', [2, 4, 5, 5], [2, 4, 5, 5]]]);
    remove();
    net.call(randomInput([2, 3, 5, 5]));
    expect(seen).toHaveLength(1);
  });

  it('output gradient hooks receive ∂L/∂output of the layer', () => {
    const net = initialized(new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2)));
    const grads = new Map<string, number[]>();
    for (const name of ['1', '2']) {
      net.getSubmodule(name).registerOutputGradHook((grad, module) => grads.set(module.path, Array.from(grad)));
    }
    const x = randomInput([2, 3]);
    sum(net.call(x)).backward();
    // L = Σ outputs: ∂L/∂(last output) = 1; ∂L/∂(relu output)[n, j] = Σ_k W2[k, j].
    expect(grads.get('2')).toEqual([1, 1, 1, 1]);
    const w2 = (net.at(2) as Linear).weight.toArray();
    const columnSums = [0, 1, 2, 3].map((j) => w2[j]! + w2[4 + j]!);
    grads.get('1')!.forEach((g, i) => expect(g).toBeCloseTo(columnSums[i % 4]!, 6));
  });

  it('output-ReLU hooks see relu of the layer’s output, in place or not, and can be removed', () => {
    const layer = initialized(new Linear(3, 4));
    const x = randomInput([2, 3]);
    const expected = relu(layer.call(x)).toArray();
    const seen: number[][] = [];
    const remove = layer.registerOutputReluHook((module, activated) => {
      expect(module).toBe(layer);
      seen.push(activated.toArray());
    });
    const inPlace = reluOnOutput(layer.call(x), layer);
    const removeForward = layer.registerForwardHook(() => undefined); // the ReLU then gets its own buffer
    const separate = reluOnOutput(layer.call(x), layer);
    removeForward();
    expect(seen).toEqual([expected, expected]);
    expect([inPlace.toArray(), separate.toArray()]).toEqual([expected, expected]);
    remove();
    reluOnOutput(layer.call(x), layer);
    expect(seen).toHaveLength(2);
  });

  it('a removed output gradient hook stays silent, even for a forward that already ran', () => {
    const net = initialized(new Sequential(new Linear(3, 2)));
    let calls = 0;
    const remove = net.at(0).registerOutputGradHook(() => calls++);
    const loss = sum(net.call(randomInput([2, 3])));
    remove();
    loss.backward();
    expect(calls).toBe(0);
  });
});

/** safetensors I/O, corrupt-file errors, atomic writes, and checkpoints that resume exactly. */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkpointExists,
  checkpointFiles,
  loadCheckpoint,
  parseSafetensors,
  readCheckpoint,
  readSafetensors,
  readStateDict,
  saveCheckpoint,
  serializeSafetensors,
  writeFileAtomic,
  writeSafetensors,
  writeStateDict,
} from '../src/checkpoint/index.js';
import {
  BatchNorm2d,
  Conv2d,
  Flatten,
  GlobalAvgPool2d,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  initializeModule,
} from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { crossEntropy, labels, Rng, tensor, tidy, type Tensor } from '../src/tensor/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'golden');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'randlab-checkpoint-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A file laid out by hand: u64 header length, header JSON (unpadded unless given), data. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: number): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  return Buffer.concat([length, json, data]);
}

describe('safetensors', () => {
  it('round-trips F32, I32 and int32-as-I64 tensors, scalars, empty tensors and metadata', () => {
    const path = join(dir, 'a.safetensors');
    const weights = tensor([1.5, -2, 3.25, 0, 1e-30, -7], [2, 3]);
    const counter = tensor(new Int32Array([7]), []);
    writeSafetensors(
      path,
      new Map<string, Tensor | { tensor: Tensor; dtype: 'I64' }>([
        ['layer.weight', weights],
        ['ints', tensor(new Int32Array([-3, 2147483647]))],
        ['bn.num_batches_tracked', { tensor: counter, dtype: 'I64' }],
        ['empty', tensor(new Float32Array(0), [0, 4])],
      ]),
      { format: 'pt', note: 'ünïcode' },
    );
    const file = readSafetensors(path);
    expect(file.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    expect(file.tensors.get('layer.weight')!.shape).toEqual([2, 3]);
    expect(file.tensors.get('layer.weight')!.toArray()).toEqual(weights.toArray());
    expect(file.tensors.get('ints')!.toArray()).toEqual([-3, 2147483647]);
    expect(file.tensors.get('bn.num_batches_tracked')!.dtype).toBe('int32');
    expect(file.tensors.get('bn.num_batches_tracked')!.shape).toEqual([]);
    expect(file.tensors.get('bn.num_batches_tracked')!.item()).toBe(7);
    expect(file.tensors.get('empty')!.shape).toEqual([0, 4]);
    expect(Object.fromEntries(file.storedDtypes)).toEqual({
      'layer.weight': 'F32',
      ints: 'I32',
      'bn.num_batches_tracked': 'I64',
      empty: 'F32',
    });
  });

  it('writes the documented layout: padded header, offsets into one contiguous data section', () => {
    const bytes = serializeSafetensors(
      new Map([
        ['a', tensor([1, 2])],
        ['b', tensor(new Int32Array([-1]))],
      ]),
      { k: 'v' },
    );
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    expect(header).toEqual({
      __metadata__: { k: 'v' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
    });
    expect(bytes.length).toBe(8 + headerLength + 12);
    expect(bytes.readFloatLE(8 + headerLength + 4)).toBe(2);
    expect(bytes.readInt32LE(8 + headerLength + 8)).toBe(-1);
  });

  it('reads a file written by PyTorch: F64, F16 and BF16 into float32, I64 into int32', () => {
    const { tensors, metadata } = readSafetensors(join(FIXTURES, 'dtypes.safetensors'));
    expect(metadata.format).toBe('pt');
    const values = (key: string): number[] => tensors.get(key)!.toArray();
    expect(values('f64')).toEqual(values('f32'));
    expect(values('f16')).toEqual(values('f16_as_f32'));
    expect(values('bf16')).toEqual(values('bf16_as_f32'));
    expect(tensors.get('f16')!.dtype).toBe('float32');
    expect(tensors.get('i64')!.dtype).toBe('int32');
    expect(tensors.get('i64')!.shape).toEqual([2, 3]);
    expect(values('i64')).toEqual([0, 1, -1, 2147483647, -2147483648, 42]);
    expect(values('i32')).toEqual([5, -6, 7]);
    expect(tensors.get('scalar')!.shape).toEqual([]);
    expect(tensors.get('scalar')!.item()).toBe(2.5);
  });

  it('refuses I64 values that do not fit in int32, naming tensor, value and index', () => {
    const data = Buffer.alloc(16);
    data.writeBigInt64LE(5n, 0);
    data.writeBigInt64LE(2147483648n, 8);
    expect(() =>
      parseSafetensors(craft({ steps: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data), 'x.safetensors'),
    ).toThrow("x.safetensors: tensor 'steps': int64 value 2147483648 at index 1 does not fit in int32");
  });

  const f32 = (n: number): Uint8Array => new Uint8Array(4 * n);
  it.each([
    [
      'a file too short for the length field',
      Buffer.alloc(5),
      /bad\.safetensors: file is 5 bytes, too short for the 8-byte header length/,
    ],
    [
      'a header length beyond the file',
      craft({}, f32(1), 1000),
      /bad\.safetensors: header length 1000 exceeds the \d+ bytes after the length field/,
    ],
    [
      'a header that is not JSON',
      craft('{"a": '),
      /bad\.safetensors: header \(bytes 8\.\.14\) is not valid UTF-8 JSON/,
    ],
    ['a header that is not an object', craft('[1, 2]'), /bad\.safetensors: header must be a JSON object/],
    [
      'an unsupported dtype',
      craft({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /tensor 'a': unsupported dtype "U8"/,
    ],
    [
      'a malformed shape',
      craft({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'a': shape must be an array of non-negative integers, got \[-1\]/,
    ],
    [
      'malformed offsets',
      craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(1)),
      /tensor 'a': data_offsets must be \[begin, end\] with 0 ≤ begin ≤ end, got \[4,0\]/,
    ],
    [
      'offsets that do not match the shape',
      craft({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, f32(5)),
      /tensor 'a': shape \[2, 3\] of F32 needs 24 bytes, but data_offsets \[0, 20\] span 20/,
    ],
    [
      'a truncated data section',
      craft(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
        },
        f32(3),
      ),
      /bad\.safetensors: tensor 'b': data_offsets \[8, 24\] run past the end of the data section \(12 bytes; the file is truncated or the header is wrong\)/,
    ],
    [
      'overlapping tensors',
      craft(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        f32(3),
      ),
      /tensor 'b' \(bytes \[4, 12\]\) overlaps 'a' \(bytes \[0, 8\]\)/,
    ],
    [
      'a gap between tensors',
      craft(
        {
          a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
        },
        f32(3),
      ),
      /bytes \[4, 8\) of the data section belong to no tensor \(before 'b'\)/,
    ],
    [
      'trailing bytes',
      craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2)),
      /the data section has 8 bytes but its tensors end at byte 4 \(4 trailing bytes\)/,
    ],
    [
      'non-string metadata',
      craft({ __metadata__: { step: 3 } }),
      /bad\.safetensors: __metadata__ must map strings to strings/,
    ],
  ])('names the problem in %s', (_what, bytes, message) => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, bytes);
    expect(() => readSafetensors(path)).toThrow(message);
  });

  it('reports a truncated real file with its name and the tensor cut off', () => {
    const path = join(dir, 'cut.safetensors');
    const bytes = serializeSafetensors(
      new Map([
        ['first', tensor([1, 2, 3])],
        ['second', tensor([4, 5, 6])],
      ]),
    );
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    expect(() => readSafetensors(path)).toThrow(
      `${path}: tensor 'second': data_offsets [12, 24] run past the end of the data section (19 bytes`,
    );
    expect(() => readSafetensors(join(dir, 'missing.safetensors'))).toThrow(
      /cannot read safetensors file .*missing\.safetensors/,
    );
  });

  it('refuses to write a float32 tensor as an integer type, or a reserved name', () => {
    expect(() => serializeSafetensors(new Map([['a', { tensor: tensor([1.5]), dtype: 'I64' as const }]]))).toThrow(
      /'a' is float32 and cannot be written as I64/,
    );
    expect(() => serializeSafetensors(new Map([['__metadata__', tensor([1])]]))).toThrow(/reserved/);
  });
});

describe('atomic writes', () => {
  function* failingHalfWay(target: string): Generator<Uint8Array> {
    yield Buffer.from('new beginning ');
    expect(existsSync(target) ? readFileSync(target, 'utf8') : '').not.toContain('new'); // nothing visible yet
    throw new Error('disk on fire');
  }

  it('leaves the old file intact and no temp file when the write throws mid-way', () => {
    const target = join(dir, 'data.txt');
    writeFileAtomic(target, 'old contents');
    expect(() => writeFileAtomic(target, failingHalfWay(target))).toThrow('disk on fire');
    expect(readFileSync(target, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['data.txt']);
  });

  it('creates no file at all when the first write of a new file throws', () => {
    const target = join(dir, 'fresh.bin');
    expect(() => writeFileAtomic(target, failingHalfWay(target))).toThrow('disk on fire');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('replaces the contents when it succeeds', () => {
    const target = join(dir, 'data.txt');
    writeFileAtomic(target, 'one');
    writeFileAtomic(target, [Buffer.from('tw'), Buffer.from('o')]);
    expect(readFileSync(target, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['data.txt']);
  });
});

function smallNet(seed: number): Sequential {
  const net = new Sequential(
    new Conv2d(2, 3, 3, { padding: 1 }),
    new BatchNorm2d(3),
    new ReLU(),
    new GlobalAvgPool2d(),
    new Linear(3, 4),
  );
  initializeModule(net, { scheme: 'kaiming_normal', scale: 0.5, rng: new Rng(seed, 'init') });
  return net;
}

function batch(rng: Rng): { x: Tensor; y: Tensor } {
  const values = new Float32Array(6 * 2 * 5 * 5);
  rng.fillNormal(values);
  return { x: tensor(values, [6, 2, 5, 5]), y: labels(Array.from({ length: 6 }, () => rng.int(4))) };
}

function train(net: Sequential, optimizer: SGD, rng: Rng, steps: number): void {
  for (let i = 0; i < steps; i++) {
    const { x, y } = batch(rng);
    optimizer.zeroGrad();
    tidy(() => {
      crossEntropy(net.call(x), y).backward();
    });
    optimizer.step();
  }
}

function snapshot(net: Sequential): Record<string, number[]> {
  return Object.fromEntries([...net.stateDict()].map(([k, t]) => [k, t.toArray()]));
}

describe('checkpoints', () => {
  it('resume exactly: model, BatchNorm buffers, optimiser momentum, RNG position, extra data', () => {
    const path = join(dir, 'run', 'step2');
    mkdirSync(join(dir, 'run'));
    const net = smallNet(1);
    const optimizer = new SGD(net.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
    const dataRng = new Rng(9, 'data');
    train(net, optimizer, dataRng, 2);
    saveCheckpoint(path, {
      model: net,
      optimizer,
      rngStates: { data: dataRng.state() },
      extra: { step: 2, note: 'x' },
    });
    train(net, optimizer, dataRng, 2);
    const expected = snapshot(net);

    const resumedNet = smallNet(2);
    const resumedOptimizer = new SGD(resumedNet.namedParameters(), { lr: 0.5 });
    const data = loadCheckpoint(path, { model: resumedNet, optimizer: resumedOptimizer });
    expect(data.extra).toEqual({ step: 2, note: 'x' });
    expect(resumedOptimizer.hyperparameters).toEqual({
      lr: 0.1,
      momentum: 0.9,
      dampening: 0,
      weightDecay: 1e-3,
      nesterov: false,
    });
    expect(resumedOptimizer.stepCount).toBe(2);
    train(resumedNet, resumedOptimizer, Rng.fromState(data.rngStates.data!), 2);
    expect(snapshot(resumedNet)).toEqual(expected);
  });

  it('writes PyTorch’s state_dict (int64 counters) and a state file, and no temp files', () => {
    const path = join(dir, 'ckpt');
    const net = smallNet(1);
    expect(checkpointExists(path)).toBe(false);
    saveCheckpoint(path, { model: net });
    expect(checkpointExists(path)).toBe(true);
    const files = checkpointFiles(path);
    expect(readdirSync(dir).sort()).toEqual(['ckpt.safetensors', 'ckpt.state.json']);
    const model = readSafetensors(files.model);
    expect([...model.tensors.keys()]).toEqual([...net.stateDict().keys()]);
    expect(model.storedDtypes.get('1.num_batches_tracked')).toBe('I64');
    expect(model.metadata.format).toBe('pt');
    const state = JSON.parse(readFileSync(files.state, 'utf8'));
    expect(state).toMatchObject({
      format: 'randlab-checkpoint',
      version: 1,
      optimizer: null,
      extra: null,
      model: { file: 'ckpt.safetensors' },
    });
    const read = readCheckpoint(path);
    expect(read.optimizerState).toBeNull();
    expect(() =>
      loadCheckpoint(path, { model: smallNet(1), optimizer: new SGD(net.namedParameters(), { lr: 1 }) }),
    ).toThrow(/has no optimiser state/);
  });

  it('keeps the previous checkpoint when a save fails half-way', () => {
    const path = join(dir, 'ckpt');
    const net = smallNet(1);
    const optimizer = new SGD(net.namedParameters(), { lr: 0.1, momentum: 0.9 });
    train(net, optimizer, new Rng(1, 'data'), 1);
    saveCheckpoint(path, { model: net, optimizer, extra: { step: 1 } });
    const saved = snapshot(net);
    const broken = smallNet(3);
    broken.at(4).namedParameters()[0]![1].dispose(); // its bytes cannot be written
    expect(() => saveCheckpoint(path, { model: broken, optimizer, extra: { step: 99 } })).toThrow(
      /'4\.weight' was disposed before it could be written/,
    );
    expect(readdirSync(dir).sort()).toEqual(['ckpt.optim.safetensors', 'ckpt.safetensors', 'ckpt.state.json']);
    const restored = smallNet(5);
    expect(loadCheckpoint(path, { model: restored }).extra).toEqual({ step: 1 });
    expect(snapshot(restored)).toEqual(saved);
  });

  it('detects a torn set of files and names the mismatch', () => {
    const path = join(dir, 'ckpt');
    saveCheckpoint(path, { model: smallNet(1) });
    const files = checkpointFiles(path);
    copyFileSync(files.model, join(dir, 'old.safetensors'));
    saveCheckpoint(path, { model: smallNet(2) });
    copyFileSync(join(dir, 'old.safetensors'), files.model);
    expect(() => readCheckpoint(path)).toThrow(
      /checkpoint is inconsistent: .*ckpt\.safetensors belongs to save .* but .*ckpt\.state\.json to save/,
    );
  });

  it('names what does not fit: another architecture, a missing or invalid checkpoint', () => {
    const path = join(dir, 'ckpt');
    saveCheckpoint(path, { model: smallNet(1) });
    const other = new Sequential(
      new Conv2d(2, 3, 3, { padding: 1 }),
      new ReLU(),
      new GlobalAvgPool2d(),
      new Linear(3, 5),
    );
    expect(() => loadCheckpoint(path, { model: other })).toThrow(
      /unexpected keys: 1\.weight, 1\.bias, 1\.running_mean, 1\.running_var, 1\.num_batches_tracked, 4\.weight, 4\.bias/,
    );
    expect(() => readCheckpoint(join(dir, 'nothing'))).toThrow(
      /no checkpoint at .*nothing: .*nothing\.state\.json does not exist/,
    );
    const statePath = checkpointFiles(path).state;
    writeFileSync(statePath, readFileSync(statePath, 'utf8').replace('"version": 1', '"version": 7'));
    expect(() => readCheckpoint(path)).toThrow(/ckpt\.state\.json: invalid state file: version/);
  });

  it('carries the run config in the weights file, where a state_dict reader finds it alone', () => {
    const path = join(dir, 'ckpt');
    const config = { name: 'r', model: { name: 'mlp', widths: [3] }, schedule: { type: 'constant', lr: 0.01 } };
    saveCheckpoint(path, { model: smallNet(1), config });
    const files = checkpointFiles(path);
    expect(JSON.parse(readSafetensors(files.model).metadata.randlab_run_config!)).toEqual(config);
    expect(readCheckpoint(path).config).toEqual(config);
    rmSync(files.state); // the weights file alone still says what produced it
    expect(readStateDict(files.model).config).toEqual(config);
  });

  it('reads checkpoints and state_dicts without a run config (older saves, PyTorch) as config null', () => {
    const path = join(dir, 'ckpt');
    saveCheckpoint(path, { model: smallNet(1) });
    expect(readSafetensors(checkpointFiles(path).model).metadata.randlab_run_config).toBeUndefined();
    expect(readCheckpoint(path).config).toBeNull();
    expect(readStateDict(join(FIXTURES, 'cnn.weights.safetensors')).config).toBeNull();
  });

  it('refuses NaN and ±Inf weights or moments on load, naming the file, the tensor and how many', () => {
    const path = join(dir, 'ckpt');
    const net = smallNet(1);
    const optimizer = new SGD(net.namedParameters(), { lr: 0.1, momentum: 0.9 });
    train(net, optimizer, new Rng(1, 'data'), 1);
    const weight = net.stateDict().get('0.weight')!.data;
    weight[0] = NaN;
    weight[5] = NaN;
    weight[7] = -Infinity;
    saveCheckpoint(path, { model: net, optimizer });
    const files = checkpointFiles(path);
    const message = `checkpoint ${files.model}: tensor '0.weight' holds 2 NaN values and 1 infinite value (of 54); randlab saves only finite weights`;
    expect(() => readCheckpoint(path)).toThrow(message);
    expect(() => loadCheckpoint(path, { model: smallNet(2) })).toThrow(message);
    expect(() => readStateDict(files.model)).toThrow(message);

    const clean = smallNet(3);
    const moments = new SGD(clean.namedParameters(), { lr: 0.1, momentum: 0.9 });
    train(clean, moments, new Rng(1, 'data'), 1);
    saveCheckpoint(path, { model: clean, optimizer: moments });
    const saved = readSafetensors(files.optimizer);
    saved.tensors.get('4.bias.momentum_buffer')!.data[1] = Infinity;
    writeSafetensors(files.optimizer, saved.tensors, saved.metadata);
    expect(() => readCheckpoint(path)).toThrow(
      `checkpoint ${files.optimizer}: tensor '4.bias.momentum_buffer' holds 1 infinite value (of 4)`,
    );
  });

  it('writes a state_dict alone in PyTorch’s dtypes', () => {
    const path = join(dir, 'weights.safetensors');
    const net = smallNet(1);
    writeStateDict(path, net.stateDict(), { source: 'test' });
    const file = readSafetensors(path);
    expect(file.metadata).toEqual({ format: 'pt', source: 'test' });
    expect(file.storedDtypes.get('1.num_batches_tracked')).toBe('I64');
    const copy = smallNet(2);
    copy.loadStateDict(file.tensors);
    expect(snapshot(copy)).toEqual(snapshot(net));
  });

  it('loads a state_dict written by PyTorch', () => {
    const cnn = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(96, 5),
    );
    const { tensors, storedDtypes } = readSafetensors(join(FIXTURES, 'cnn.weights.safetensors'));
    expect(storedDtypes.get('1.num_batches_tracked')).toBe('I64');
    cnn.loadStateDict(tensors, { strict: true });
    expect((cnn.at(1) as BatchNorm2d).numBatchesTracked.item()).toBe(3);
    expect(cnn.stateDict().get('5.bias')!.toArray()).toEqual(tensors.get('5.bias')!.toArray());
    const wrongHead = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(96, 4),
    );
    expect(() => wrongHead.loadStateDict(tensors)).toThrow(
      /'5\.weight': shape \[5, 96\] in the state dict, \[4, 96\] in the model/,
    );
  });
});

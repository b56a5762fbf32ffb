import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  readCheckpoint,
  readSafetensors,
  readStateDict,
  saveCheckpoint,
  writeSafetensors,
} from '../src/checkpoint/index.js';
import { buildProgram } from '../src/cli/main.js';
import { createModel } from '../src/models/index.js';
import { checkpointPrefix, latestCheckpoint } from '../src/runs/checkpoints.js';
import { RunStore } from '../src/runs/store.js';
import { Rng, tensor, untracked } from '../src/tensor/index.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { gaussianMlpFlags, makeTinyImageFolder, type TinyData } from './runs-fixtures.js';

let temp: ReturnType<typeof makeTempDir>;
let images: TinyData;
const GAUSSIAN = 'gaussian:diag(1,2,3),n=400,seed=1';

beforeAll(async () => {
  temp = makeTempDir('analyze');
  images = await makeTinyImageFolder({ classes: 2, trainPerClass: 6, testPerClass: 1 });
});
afterAll(() => {
  temp.cleanup();
  images.cleanup();
});

/** Runs `randlab ...args` in this process and returns what it printed. */
async function randlab(...args: string[]): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'randlab', ...args]);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

function weightFile(name: string, key: string, shape: number[], seed: number): string {
  const rng = new Rng(seed, 'test');
  const size = shape.reduce((a, b) => a * b, 1);
  const path = join(temp.dir, `${name}.safetensors`);
  writeSafetensors(
    path,
    new Map([
      [
        key,
        untracked(() =>
          tensor(
            Float32Array.from({ length: size }, () => rng.normal()),
            shape,
          ),
        ),
      ],
    ]),
  );
  return path;
}

describe('randlab analyze alignment', () => {
  it('prints the documented JSON for a fully connected layer, pooling checkpoints', async () => {
    const first = weightFile('a', 'fc1.weight', [40, 3], 1);
    const second = weightFile('b', 'fc1.weight', [40, 3], 2);
    const cacheDir = join(temp.dir, 'cache');
    const one = JSON.parse(
      await randlab(
        'analyze',
        'alignment',
        '--checkpoint',
        first,
        '--layer',
        'fc1',
        '--dataset',
        GAUSSIAN,
        '--cache-dir',
        cacheDir,
        '--json',
      ),
    );
    expect(Object.keys(one)).toEqual(
      expect.arrayContaining([
        'layer',
        'd',
        'n_vectors',
        'misalignment_data',
        'misalignment_random',
        'eigenvalues',
        'f',
        'weight_mean_norm',
      ]),
    );
    expect(one).toMatchObject({ layer: 'fc1', d: 3, n_vectors: 40 });
    expect(one.eigenvalues).toHaveLength(3);
    expect(one.eigenvalues[0]).toBeLessThan(one.eigenvalues[2]);
    expect(one.f).toHaveLength(3);
    expect(one.misalignment_data).toBeGreaterThanOrEqual(0);
    const pooled = JSON.parse(
      await randlab(
        'analyze',
        'alignment',
        '--checkpoint',
        first,
        '--checkpoint',
        second,
        '--layer',
        'fc1',
        '--dataset',
        GAUSSIAN,
        '--cache-dir',
        cacheDir,
        '--json',
      ),
    );
    expect(pooled.n_vectors).toBe(80);
    expect(
      await randlab(
        'analyze',
        'alignment',
        '--checkpoint',
        first,
        '--layer',
        'fc1',
        '--dataset',
        GAUSSIAN,
        '--cache-dir',
        cacheDir,
      ),
    ).toMatch(/misalignment M {2}data basis/);
  });

  it('explains too few weight vectors and a missing layer', async () => {
    const few = weightFile('few', 'fc1.weight', [3, 3], 3);
    await expect(
      randlab(
        'analyze',
        'alignment',
        '--checkpoint',
        few,
        '--layer',
        'fc1',
        '--dataset',
        GAUSSIAN,
        '--cache-dir',
        join(temp.dir, 'cache'),
        '--json',
      ),
    ).rejects.toThrow(/at least d\+1 = 4 weight vectors; got 3/);
    await expect(
      randlab('analyze', 'alignment', '--checkpoint', few, '--layer', 'conv1', '--dataset', GAUSSIAN, '--json'),
    ).rejects.toThrow(/has no 'conv1.weight' \(weights: fc1.weight\)/);
  });

  it('writes charts and eigen-images for a conv layer with --out', async () => {
    const conv = weightFile('conv', 'conv1.weight', [30, 3, 3, 3], 4);
    const out = join(temp.dir, 'out');
    const result = JSON.parse(
      await randlab(
        'analyze',
        'alignment',
        '--checkpoint',
        conv,
        '--model',
        'cnn2',
        '--dataset',
        images.spec,
        '--cache-dir',
        join(temp.dir, 'cache'),
        '--out',
        out,
        '--images',
        '6',
        '--json',
      ),
    );
    expect(result).toMatchObject({ layer: 'conv1', d: 27, n_vectors: 30 });
    for (const file of [
      'alignment.json',
      'f-vs-sigma.svg',
      'f-vs-sigma.png',
      'f-vs-sigma.vl.json',
      'filters.png',
      'sigma-w-eigenvectors.png',
      'sigma-x-eigenvectors.png',
    ]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    expect(readFileSync(join(out, 'f-vs-sigma.svg'), 'utf8')).toMatch(/^<svg/);
    const grid = PNG.sync.read(readFileSync(join(out, 'sigma-x-eigenvectors.png')));
    expect(grid.width).toBeGreaterThan(6 * 3);
  });
});

describe('runs: --runs pooling and analyze activity', () => {
  it('pools the latest checkpoints of runs and prints recorded activity', async () => {
    const storeDir = join(temp.dir, 'store');
    const store = RunStore.open(storeDir);
    for (const [id, seed] of [
      ['r1', 1],
      ['r2', 2],
    ] as const) {
      store.createRun({ id, model: 'mlp', dataset: GAUSSIAN, config: {} });
      const model = createModel('mlp', { numClasses: 2, inputShape: [3], widths: [12], rng: new Rng(seed, 'init') });
      saveCheckpoint(checkpointPrefix(store.checkpointDir(id), 5), { model, extra: { step: 5 } });
      store.appendMetrics(id, [
        { step: 0, name: 'activity/fc1/positive_fraction', value: 0.5 },
        { step: 0, name: 'activity/fc1/dead_fraction', value: 0 },
        { step: 5, name: 'activity/fc1/positive_fraction', value: 0.25 },
        { step: 5, name: 'activity/fc1/dead_fraction', value: 0.125 },
        { step: 5, name: 'train/loss', value: 1 },
      ]);
    }
    store.close();
    const pooled = JSON.parse(
      await randlab(
        'analyze',
        'alignment',
        '--runs',
        'r1,r2',
        '--store',
        storeDir,
        '--layer',
        'fc1',
        '--dataset',
        GAUSSIAN,
        '--cache-dir',
        join(temp.dir, 'cache'),
        '--json',
      ),
    );
    expect(pooled.n_vectors).toBe(24);
    const activity = JSON.parse(await randlab('analyze', 'activity', 'r1', '--store', storeDir, '--json'));
    expect(activity).toEqual({
      run: 'r1',
      layers: { fc1: { steps: [0, 5], positive_fraction: [0.5, 0.25], dead_fraction: [0, 0.125] } },
    });
    expect(await randlab('analyze', 'activity', 'r2', '--store', storeDir)).toMatch(
      /fc1 +0→5 +50\.0% → +25\.0% +0\.0% → +12\.5%/,
    );
    await expect(randlab('analyze', 'activity', 'nope', '--store', storeDir)).rejects.toThrow(/no run 'nope'/);
  });
});

/** Trains `id` (an MLP on GAUSSIAN) through the CLI and returns its last weights file. */
async function trainGaussianRun(storeDir: string, id: string): Promise<string> {
  await randlab('train', '--quiet', '--store', storeDir, '--name', id, ...gaussianMlpFlags(GAUSSIAN, '20,8', 3));
  const store = RunStore.open(storeDir);
  try {
    return latestCheckpoint(store.checkpointDir(id))!.weights;
  } finally {
    store.close();
  }
}

describe('checkpoints carry their run config', () => {
  it('analyses a run checkpoint without --model, --layer or --dataset; flags still override', async () => {
    const storeDir = join(temp.dir, 'config-store');
    const weights = await trainGaussianRun(storeDir, 'g');
    const store = RunStore.open(storeDir);
    expect(readStateDict(weights).config).toEqual(store.readConfig('g'));
    store.close();
    const cacheDir = join(temp.dir, 'cache');
    const fromConfig = JSON.parse(
      await randlab('analyze', 'alignment', '--checkpoint', weights, '--cache-dir', cacheDir, '--json'),
    );
    expect(fromConfig).toMatchObject({ layer: 'fc1', d: 3, n_vectors: 20 });
    const explicit = JSON.parse(
      await randlab(
        'analyze',
        'alignment',
        '--checkpoint',
        weights,
        '--model',
        'mlp',
        '--layer',
        'fc1',
        '--dataset',
        GAUSSIAN,
        '--cache-dir',
        cacheDir,
        '--json',
      ),
    );
    expect(fromConfig).toEqual(explicit);
    await expect(randlab('analyze', 'alignment', '--checkpoint', weights, '--model', 'cnn2', '--json')).rejects.toThrow(
      /cnn2 needs image inputs \[C, H, W\], got input shape \[3\]/,
    );
    await expect(randlab('analyze', 'alignment', '--checkpoint', weights, '--layer', 'fc2', '--json')).rejects.toThrow(
      /fc2\.weight has rows of 20 values but gaussian:.* gives flattened input vectors of 3/,
    );
  });

  it('asks for --model or --layer when the weights carry no config, and reads older checkpoints', async () => {
    const torchLike = weightFile('no-config', 'fc1.weight', [40, 3], 5);
    await expect(
      randlab('analyze', 'alignment', '--checkpoint', torchLike, '--dataset', GAUSSIAN, '--json'),
    ).rejects.toThrow(
      /no-config\.safetensors carries no run config \(.*\): give --model NAME to analyse its first layer, or --layer NAME \(e\.g\. fc1\)/,
    );
    // A checkpoint saved before weights files carried the config: --runs takes it from the run folder.
    const storeDir = join(temp.dir, 'old-store');
    const store = RunStore.open(storeDir);
    const config = { data: { dataset: GAUSSIAN }, model: { name: 'mlp', widths: [16] } };
    store.createRun({ id: 'old', model: 'mlp', dataset: GAUSSIAN, config });
    const model = createModel('mlp', { numClasses: 2, inputShape: [3], widths: [16], rng: new Rng(3, 'init') });
    const prefix = checkpointPrefix(store.checkpointDir('old'), 2);
    saveCheckpoint(prefix, { model, extra: { step: 2 } });
    store.close();
    expect(readCheckpoint(prefix).config).toBeNull();
    const result = JSON.parse(
      await randlab(
        'analyze',
        'alignment',
        '--runs',
        'old',
        '--store',
        storeDir,
        '--cache-dir',
        join(temp.dir, 'cache'),
        '--json',
      ),
    );
    expect(result).toMatchObject({ layer: 'fc1', d: 3, n_vectors: 16 });
  });
});

describe('checkpoints holding NaN or ±Inf', () => {
  it('are refused by analyze, eval, resume and init.from, naming the file and the tensor', async () => {
    const storeDir = join(temp.dir, 'nan-store');
    const weights = await trainGaussianRun(storeDir, 'n');
    const file = readSafetensors(weights); // damage the weights, keeping the save's id so the set stays consistent
    const fc1 = file.tensors.get('fc1.weight')!.data;
    fc1[3] = NaN;
    fc1[40] = NaN;
    writeSafetensors(weights, file.tensors, file.metadata);
    const message = `checkpoint ${weights}: tensor 'fc1.weight' holds 2 NaN values (of 60)`;
    await expect(randlab('analyze', 'alignment', '--checkpoint', weights, '--json')).rejects.toThrow(message);
    await expect(randlab('eval', '--checkpoint', weights, '--json')).rejects.toThrow(message);
    const store = RunStore.open(storeDir);
    store.updateRun('n', { status: 'stopped' });
    store.close();
    await expect(randlab('train', '--quiet', '--store', storeDir, '--resume', 'n')).rejects.toThrow(message);
    await expect(
      randlab(
        'train',
        '--quiet',
        '--store',
        storeDir,
        '--name',
        'from-nan',
        ...gaussianMlpFlags(GAUSSIAN, '20,8', 1),
        '--init.from',
        `{checkpoint: ${weights}}`,
      ),
    ).rejects.toThrow(message);
  });
});

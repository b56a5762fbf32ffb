/**
 * `randlab train` with a layer too large for any machine stops before training with an error that
 * names the parameter, its shape and its size, on both kernel backends, and records no run.
 * (fc2 of an MLP with widths 100000 and 10¹⁰ on 4-dimensional inputs is [10¹⁰, 10⁵]: 4 PB; it fails
 * when initialisation first writes it, before fc2.bias and the head, which are never allocated.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeKernels } from '../src/kernels/native.js';
import { makeTempDir } from './helpers/data-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const backends = loadNativeKernels().kernels ? ['ts', 'native'] : ['ts'];
let temp: ReturnType<typeof makeTempDir>;

beforeAll(() => {
  temp = makeTempDir('cli-allocation');
});
afterAll(() => {
  temp.cleanup();
});

describe.each(backends)('randlab train with a layer that cannot be allocated, %s kernels', (backend) => {
  it('exits non-zero naming the layer, its shape and its bytes', () => {
    const store = join(temp.dir, `store-${backend}`);
    const args = [
      ...['train', '--name', 'too-wide', '--model.name', 'mlp', '--model.widths', '100000,10000000000'],
      ...['--data.dataset', 'gaussian:diag(1:4:1),n=32', '--data.labels.kind', 'random'],
      ...['--data.labels.k', '2', '--data.labels.seed', '0', '--training.iterations', '1', '--quiet'],
    ];
    const result = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      env: { ...process.env, RANDLAB_RUNS: store, RANDLAB_CACHE: join(temp.dir, 'cache'), RANDLAB_KERNELS: backend },
      encoding: 'utf8',
    });
    expect(result.stderr.trim()).toBe(
      'randlab: cannot allocate fc2.weight, float32 [10000000000, 100000] = 4.0 PB: out of memory',
    );
    expect(result.status).toBe(1);
    expect(existsSync(join(store, 'too-wide'))).toBe(false);
  });
});

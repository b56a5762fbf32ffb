import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { resolveCacheDir, resolveDataRoot } from '../src/data/paths.js';
import { formatDatasetSpec, parseDatasetSpec } from '../src/data/spec.js';

describe('dataset spec strings', () => {
  it('parses every source and formats back to the same spec', () => {
    const cases = [
      'cifar10',
      'cifar100',
      'cifar100,labels=coarse',
      'imagefolder:/data/tiny-imagenet,size=64',
      'imagefolder:tiny-imagenet,size=32,classes=n01443537+n01629819',
      'gaussian:diag(0.1:3.0:0.1),n=10000,seed=0',
      'gaussian:diag(1, 1.5, 2),n=20,seed=3',
    ];
    for (const text of cases)
      expect(parseDatasetSpec(formatDatasetSpec(parseDatasetSpec(text)))).toEqual(parseDatasetSpec(text));
    expect(formatDatasetSpec(parseDatasetSpec('gaussian:diag(0.1:3.0:0.1)'))).toBe(
      'gaussian:diag(0.1:3.0:0.1),n=10000,seed=0',
    );
    expect(parseDatasetSpec('imagefolder:/x/y,size=64,classes=a+b')).toEqual({
      kind: 'imagefolder',
      path: '/x/y',
      size: 64,
      classes: ['a', 'b'],
    });
    expect(parseDatasetSpec('cifar100,labels=coarse')).toEqual({ kind: 'cifar100', labels: 'coarse' });
  });

  it('expands diag ranges exactly, as in the paper (0.1, 0.2, …, 3.0) and (1, 1.1, …, 1.9)', () => {
    const spec = parseDatasetSpec('gaussian:diag(0.1:3.0:0.1)');
    if (spec.kind !== 'gaussian') throw new Error('expected gaussian');
    expect(spec.variances.length).toBe(30);
    expect(spec.variances[0]).toBe(0.1);
    expect(spec.variances[2]).toBe(0.3);
    expect(spec.variances[29]).toBe(3);
    expect(spec.n).toBe(10_000);
    expect(spec.seed).toBe(0);
    const fig20 = parseDatasetSpec('gaussian:diag(1:1.9:0.1),n=2000,seed=4');
    if (fig20.kind !== 'gaussian') throw new Error('expected gaussian');
    expect(fig20.variances).toEqual([1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9]);
    expect([fig20.n, fig20.seed]).toEqual([2000, 4]);
    const mixed = parseDatasetSpec('gaussian:diag(0.5, 1:3:1, 7)');
    if (mixed.kind !== 'gaussian') throw new Error('expected gaussian');
    expect(mixed.variances).toEqual([0.5, 1, 2, 3, 7]);
  });

  it('rejects bad specs and says what is wrong', () => {
    expect(() => parseDatasetSpec('mnist')).toThrow(/unknown dataset 'mnist'/);
    expect(() => parseDatasetSpec('')).toThrow(/empty/);
    expect(() => parseDatasetSpec('imagefolder:/x')).toThrow(/size=<pixels>/);
    expect(() => parseDatasetSpec('imagefolder:/x,size=0')).toThrow(/size must be an integer ≥ 1/);
    expect(() => parseDatasetSpec('cifar10,size=3')).toThrow(/unknown option 'size'/);
    expect(() => parseDatasetSpec('cifar100,labels=super')).toThrow(/fine or coarse/);
    expect(() => parseDatasetSpec('gaussian:diag(0.1:3.05:0.1)')).toThrow(/does not reach its stop/);
    expect(() => parseDatasetSpec('gaussian:diag(1,-2)')).toThrow(/positive/);
    expect(() => parseDatasetSpec('gaussian:eye(3)')).toThrow(/diag/);
    expect(() => parseDatasetSpec('gaussian:diag(1),n=1.5')).toThrow(/n must be an integer/);
    expect(() => parseDatasetSpec('gaussian:diag(1),n=3,n=4')).toThrow(/twice/);
  });
});

describe('data and cache locations', () => {
  it('data root: --data-dir, else $RANDLAB_DATA, else ./data', () => {
    expect(resolveDataRoot('/a', { RANDLAB_DATA: '/b' })).toBe('/a');
    expect(resolveDataRoot(undefined, { RANDLAB_DATA: '/b' })).toBe('/b');
    expect(resolveDataRoot(undefined, {})).toBe(resolve('data'));
  });

  it('cache dir: explicit, else $RANDLAB_CACHE, else .cache/randlab', () => {
    expect(resolveCacheDir('/c', { RANDLAB_CACHE: '/d' })).toBe('/c');
    expect(resolveCacheDir(undefined, { RANDLAB_CACHE: '/d' })).toBe('/d');
    expect(resolveCacheDir(undefined, {})).toBe(resolve('.cache/randlab'));
  });
});

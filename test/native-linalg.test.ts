/**
 * The addon's float64 linear-algebra exports (native/src/linalg_*.cc) called directly: argument
 * validation with errors that name the argument, and the SIMD level selecting their code path, both
 * through setSimdLevel and through RANDLAB_SIMD in a fresh process. Their numbers are tested against
 * known spectra, a direct sum and the TypeScript backend in test/linalg.test.ts, at every SIMD level.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GemmParams } from '../src/kernels/interface.js';
import { nativeAddon } from '../src/kernels/native.js';
import type { NativeLinalg } from '../src/linalg/index.js';
import { supportedSimdLevels, withSimdLevel, type SimdControl } from './helpers/simd-levels.js';

const loaded = nativeAddon();
const addon =
  loaded !== null && typeof loaded.gemmF64 === 'function' ? (loaded as unknown as NativeLinalg & SimdControl) : null;

const PRODUCT: GemmParams = { m: 37, n: 29, k: 200, transA: false, transB: true, alpha: 1, beta: 0 };
const A = Float64Array.from({ length: PRODUCT.m * PRODUCT.k }, (_, i) => Math.sin(i * 0.7) * 2);
const B = Float64Array.from({ length: PRODUCT.k * PRODUCT.n }, (_, i) => Math.cos(i * 0.3) * 2);

function product(native: NativeLinalg): Float64Array {
  const c = new Float64Array(PRODUCT.m * PRODUCT.n);
  native.gemmF64(A, B, c, PRODUCT);
  return c;
}

const bits = (values: Float64Array): string => Buffer.from(values.buffer).toString('base64');

describe.skipIf(addon === null)('native float64 linear algebra', () => {
  const native = addon!;

  it('gemmF64 rejects bad arguments with a TypeError naming them', () => {
    const p: GemmParams = { m: 2, n: 3, k: 4, transA: false, transB: true, alpha: 1, beta: 0 };
    const f = (length: number) => new Float64Array(length);
    expect(() => native.gemmF64(f(7), f(12), f(6), p)).toThrow(
      /^gemmF64: a has 7 elements, expected 8 \(p\.m \* p\.k\)$/,
    );
    expect(() => native.gemmF64(f(8), f(12), f(5), p)).toThrow(
      /gemmF64: c has 5 elements, expected 6 \(p\.m \* p\.n\)/,
    );
    expect(() => native.gemmF64(f(8), new Float32Array(12) as unknown as Float64Array, f(6), p)).toThrow(
      /gemmF64: b must be a Float64Array/,
    );
    expect(() => native.gemmF64(f(8), f(12), f(6), { ...p, k: 1.5 })).toThrow(/gemmF64: p\.k must be an integer >= 0/);
    expect(() => native.gemmF64(f(8), f(12), f(6), { ...p, transB: 1 as unknown as boolean })).toThrow(
      /gemmF64: p\.transB must be a boolean/,
    );
    expect(() => native.gemmF64(f(8), f(12), f(6), undefined as unknown as GemmParams)).toThrow(
      /gemmF64: p must be an object/,
    );
    // Sizes whose product overflows are refused, not wrapped around to a length that matches.
    expect(() => native.gemmF64(f(0), f(0), f(0), { ...p, m: 2 ** 33, k: 2 ** 33, n: 0 })).toThrow(
      /gemmF64: a would need 8589934592 × 8589934592 elements/,
    );
    expect(() => native.gemmF64(f(8), f(12), f(6), p)).not.toThrow();
  });

  it('symmetricEigen and orthogonalFactor reject bad arguments naming them', () => {
    expect(() => native.symmetricEigen(new Float64Array(5), 2)).toThrow(
      /^symmetricEigen: a has 5 elements, expected 4 \(n \* n\)$/,
    );
    expect(() => native.symmetricEigen(Float64Array.of(1, 0, NaN, 1), 2)).toThrow(
      /symmetricEigen: a has a non-finite entry at index 2/,
    );
    expect(() => native.symmetricEigen(new Float64Array(4), -2)).toThrow(/symmetricEigen: n must be an integer >= 0/);
    expect(() => native.orthogonalFactor([1, 2, 3, 4] as unknown as Float64Array, 2)).toThrow(
      /orthogonalFactor: a must be a Float64Array/,
    );
    expect(() => native.orthogonalFactor(new Float64Array(9), 2)).toThrow(/orthogonalFactor: a has 9 elements/);
  });

  it('setSimdLevel selects the code path: generic rounds each multiply-add twice, AVX2 and AVX-512 once (FMA)', () => {
    const levels = supportedSimdLevels(native);
    const results = new Map(levels.map((level) => [level, bits(withSimdLevel(native, level, () => product(native)))]));
    // If the float64 kernels ignored the level (as target_clones did), every level would give the same bits.
    for (const level of levels.filter((l) => l !== 'generic'))
      expect(results.get(level)).not.toBe(results.get('generic'));
  });

  it('RANDLAB_SIMD selects the same code path in a fresh process', () => {
    const addonPath =
      process.env.RANDLAB_NATIVE_PATH ||
      fileURLToPath(new URL('../build/Release/randlab_native.node', import.meta.url));
    for (const level of supportedSimdLevels(native)) {
      // The operands go to the child as JSON, which carries every double exactly.
      const script = `const a = require(${JSON.stringify(addonPath)});
        const { p, A, B } = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
        const c = new Float64Array(p.m * p.n);
        a.gemmF64(Float64Array.from(A), Float64Array.from(B), c, p);
        console.log(a.simdLevel(), Buffer.from(c.buffer).toString('base64'));`;
      const child = spawnSync(process.execPath, ['-e', script], {
        env: { ...process.env, RANDLAB_SIMD: level },
        input: JSON.stringify({ p: PRODUCT, A: Array.from(A), B: Array.from(B) }),
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout.trim()).toBe(`${level} ${bits(withSimdLevel(native, level, () => product(native)))}`);
    }
  });
});

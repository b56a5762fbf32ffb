import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/kernels/native.js';
import {
  CovarianceAccumulator,
  frobeniusNorm,
  gemm,
  haarOrthonormalBasis,
  matmul,
  nativeLinalg,
  orthogonalFactor,
  quadraticForms,
  seededHaarBasis,
  symmetricEigen,
  transpose,
  type LinalgBackend,
} from '../src/linalg/index.js';
import { Rng } from '../src/tensor/rng.js';
import { simdControl, supportedSimdLevels, useSimdLevel } from './helpers/simd-levels.js';

interface Variant {
  readonly label: string;
  readonly backend: LinalgBackend;
  /** The SIMD level the native backend is forced to (native/src/cpu_features.h). */
  readonly simd?: string;
}

const addon = nativeLinalg() ? nativeAddon() : null;
const simd = addon ? simdControl(addon) : null;
/** The native backend at every SIMD level this CPU has, as the native kernels are tested. */
const nativeVariants: Variant[] = simd
  ? supportedSimdLevels(simd).map((level) => ({ label: `native at ${level}`, backend: 'native', simd: level }))
  : [];
const variants: Variant[] = [...nativeVariants, { label: 'ts', backend: 'ts' }];

/** A describe block per variant, named after it, whose tests run at the variant's SIMD level. */
function eachVariant(list: readonly Variant[], body: (variant: Variant) => void): void {
  for (const variant of list) {
    describe(variant.label, () => {
      if (simd && variant.simd) useSimdLevel(simd, variant.simd);
      body(variant);
    });
  }
}

/** An orthogonal matrix built independently of the code under test: a product of reflections. */
function randomOrthogonal(n: number, rng: Rng): Float64Array {
  let q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let r = 0; r < 3; r++) {
    const u = new Float64Array(n);
    rng.fillNormal(u);
    const uu = u.reduce((s, x) => s + x * x, 0);
    const next = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      let qu = 0;
      for (let k = 0; k < n; k++) qu += q[i * n + k]! * u[k]!;
      for (let j = 0; j < n; j++) next[i * n + j] = q[i * n + j]! - (2 * qu * u[j]!) / uu;
    }
    q = next;
  }
  return q;
}

/** Q diag(λ) Qᵀ. */
function withSpectrum(spectrum: number[], rng: Rng): Float64Array {
  const n = spectrum.length;
  const q = randomOrthogonal(n, rng);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += q[i * n + k]! * spectrum[k]! * q[j * n + k]!;
      a[i * n + j] = sum;
      a[j * n + i] = sum;
    }
  }
  return a;
}

function residuals(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array) {
  let residual = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += a[i * n + j]! * vectors[k * n + j]!;
      residual += (sum - values[k]! * vectors[k * n + i]!) ** 2;
    }
  }
  let orthogonality = 0;
  for (let k = 0; k < n; k++) {
    for (let l = 0; l < n; l++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += vectors[k * n + j]! * vectors[l * n + j]!;
      orthogonality = Math.max(orthogonality, Math.abs(dot - (k === l ? 1 : 0)));
    }
  }
  return { relative: Math.sqrt(residual) / Math.max(frobeniusNorm(a), Number.MIN_VALUE), orthogonality };
}

const SPECTRA: Record<string, number[]> = {
  distinct: Array.from({ length: 40 }, (_, i) => 0.5 + i * 0.37),
  repeated: [5, 5, 5, 5, 2, 2, 2, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 3, 7, 7],
  'all equal': Array.from({ length: 12 }, () => 2.5),
  'with zeros and negatives': [0, 0, 0, -1, -1, 3, 4, -2.5, 0, 1e-3],
  'wide dynamic range (covariance-like)': Array.from({ length: 60 }, (_, i) => 10 ** (2 - i / 6)),
};

describe('symmetricEigen', () => {
  eachVariant(variants, ({ backend }) => {
    for (const [label, spectrum] of Object.entries(SPECTRA)) {
      it(`recovers a known spectrum (${label})`, () => {
        const n = spectrum.length;
        const a = withSpectrum(spectrum, new Rng(n, 'test'));
        const { values, vectors } = symmetricEigen(a, n, { backend });
        const expected = [...spectrum].sort((x, y) => x - y);
        const scale = Math.max(...spectrum.map(Math.abs));
        values.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThanOrEqual(1e-12 * scale * n));
        const { relative, orthogonality } = residuals(a, n, values, vectors);
        expect(relative).toBeLessThanOrEqual(1e-8);
        expect(orthogonality).toBeLessThanOrEqual(1e-10);
      });
    }

    it('handles n = 0, 1, 2 and diagonal input', () => {
      expect(symmetricEigen(new Float64Array(0), 0, { backend }).values.length).toBe(0);
      const one = symmetricEigen(Float64Array.of(-3), 1, { backend });
      expect([...one.values, ...one.vectors]).toEqual([-3, 1]);
      const two = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2, { backend });
      expect(two.values[0]).toBeCloseTo(1, 14);
      expect(two.values[1]).toBeCloseTo(3, 14);
      const diagonal = symmetricEigen(Float64Array.of(3, 0, 0, 0, 1, 0, 0, 0, 2), 3, { backend });
      expect([...diagonal.values]).toEqual([1, 2, 3]);
      // Sign convention: the largest-magnitude entry of each eigenvector is positive.
      expect([...diagonal.vectors]).toEqual([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    });
  });

  eachVariant(nativeVariants, () => {
    it('divide and conquer: heavy deflation, decoupled blocks, close pairs, extreme scales', () => {
      const check = (a: Float64Array, n: number, label: string) => {
        const { values, vectors } = symmetricEigen(a, n, { backend: 'native' });
        const { relative, orthogonality } = residuals(a, n, values, vectors);
        expect(relative, label).toBeLessThanOrEqual(1e-12);
        expect(orthogonality, label).toBeLessThanOrEqual(1e-12);
        for (let i = 1; i < n; i++) expect(values[i]!, label).toBeGreaterThanOrEqual(values[i - 1]!);
        return values;
      };
      // 5 distinct values, each 40 times (n = 200 > the 32-row leaves): nearly everything deflates.
      const repeated = Array.from({ length: 200 }, (_, i) => [-2, 0.5, 1, 1 + 1e-13, 7][i % 5]!);
      check(withSpectrum(repeated, new Rng(21, 'test')), 200, 'repeated');
      // Block diagonal (zero couplings between blocks) in the natural basis: rho = 0 merges.
      const n = 150;
      const block = new Float64Array(n * n);
      const rng = new Rng(22, 'test');
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++)
          if (Math.floor(i / 50) === Math.floor(j / 50)) block[i * n + j] = block[j * n + i] = rng.normal();
      }
      check(block, n, 'block diagonal');
      // Wilkinson W⁺ of order 101: pairs of eigenvalues equal to many digits.
      const w = 101;
      const wilkinson = new Float64Array(w * w);
      for (let i = 0; i < w; i++) {
        wilkinson[i * w + i] = Math.abs(i - 50);
        if (i + 1 < w) wilkinson[i * w + i + 1] = wilkinson[(i + 1) * w + i] = 1;
      }
      const top = check(wilkinson, w, 'wilkinson');
      expect(Math.abs(top[w - 1]! - top[w - 2]!)).toBeLessThan(1e-10); // the famous close pair
      // Scale invariance far from 1.
      for (const scale of [1e-150, 1e150]) {
        const scaled = withSpectrum(
          Array.from({ length: 80 }, (_, i) => scale * (1 + i)),
          new Rng(23, 'test'),
        );
        const values = check(scaled, 80, `scale ${scale}`);
        expect(values[79]! / scale).toBeCloseTo(80, 9);
      }
    });

    it('agrees with TypeScript on a random 150×150 matrix', () => {
      const n = 150;
      const rng = new Rng(3, 'test');
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
      }
      const native = symmetricEigen(a, n, { backend: 'native' });
      const ts = symmetricEigen(a, n, { backend: 'ts' });
      native.values.forEach((value, i) => expect(Math.abs(value - ts.values[i]!)).toBeLessThan(1e-11));
      // Distinct eigenvalues and the same sign convention: the same vectors.
      let maxGap = 0;
      native.vectors.forEach((value, i) => (maxGap = Math.max(maxGap, Math.abs(value - ts.vectors[i]!))));
      expect(maxGap).toBeLessThan(1e-8);
    });

    it('solves a 600×600 covariance-like matrix to 1e-8 residual', () => {
      const n = 600;
      const spectrum = Array.from({ length: n }, (_, i) => Math.exp(-i / 40) + (i % 7 === 0 ? 1e-9 : 0));
      const rng = new Rng(4, 'test');
      const q = orthogonalFactor(
        Float64Array.from({ length: n * n }, () => rng.normal()),
        n,
        'native',
      );
      const scaled = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) scaled[i * n + k] = q[i * n + k]! * spectrum[k]!;
      const a = matmul(scaled, q, n, n, n, { transB: true });
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i]!;
      const { values, vectors } = symmetricEigen(a, n, { backend: 'native' });
      const av = matmul(vectors, a, n, n, n); // row k = (A v_k)ᵀ
      let residual = 0;
      for (let k = 0; k < n; k++)
        for (let j = 0; j < n; j++) residual += (av[k * n + j]! - values[k]! * vectors[k * n + j]!) ** 2;
      expect(Math.sqrt(residual) / frobeniusNorm(a)).toBeLessThan(1e-8);
      const gram = matmul(vectors, vectors, n, n, n, { transB: true });
      let orthogonality = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          orthogonality = Math.max(orthogonality, Math.abs(gram[i * n + j]! - (i === j ? 1 : 0)));
      expect(orthogonality).toBeLessThan(1e-10);
      const expected = [...spectrum].sort((x, y) => x - y);
      values.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-12));
    });
  });

  it('rejects a non-symmetric or non-finite matrix, naming the entry', () => {
    expect(() => symmetricEigen(Float64Array.of(1, 2, 3, 4), 2, { what: 'Σ_w of fc1' })).toThrow(
      /Σ_w of fc1 is not symmetric: entries \(1, 0\)/,
    );
    expect(() => symmetricEigen(Float64Array.of(1, NaN, NaN, 4), 2)).toThrow(/entry \(0, 1\) is NaN/);
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow(/expected 2×2 = 4 values, got 5/);
  });
});

describe('Haar-random orthonormal basis', () => {
  eachVariant(variants, ({ backend }) => {
    it('is orthonormal, reproducible from its seed, and different for another seed', () => {
      const d = 20;
      const basis = haarOrthonormalBasis(d, new Rng(7, 'basis'), backend);
      const gram = matmul(basis, basis, d, d, d, { transB: true, backend: 'ts' });
      gram.forEach((value, i) => expect(Math.abs(value - (i % (d + 1) === 0 ? 1 : 0))).toBeLessThan(1e-12));
      expect([...seededHaarBasis(d, 7, backend)]).toEqual([...basis]);
      expect(seededHaarBasis(d, 8, backend)[0]).not.toBe(basis[0]);
    });
  });

  it('has Haar moments: E[Q_00] = 0 and E[Q_00²] = 1/d (a QR without the sign fix fails the first)', () => {
    const d = 3;
    const samples = 4000;
    const rng = new Rng(11, 'basis');
    let sum = 0;
    let sumSquares = 0;
    for (let s = 0; s < samples; s++) {
      const q00 = haarOrthonormalBasis(d, rng)[0]!;
      sum += q00;
      sumSquares += q00 * q00;
    }
    // std of the mean is sqrt(1/3 / 4000) ≈ 0.009.
    expect(Math.abs(sum / samples)).toBeLessThan(0.04);
    expect(Math.abs(sumSquares / samples - 1 / d)).toBeLessThan(0.03);
  });

  eachVariant(nativeVariants, () => {
    it('orthogonalFactor gives Q·R = A with R upper triangular, positive diagonal', () => {
      const n = 70;
      const rng = new Rng(5, 'test');
      const a = Float64Array.from({ length: n * n }, () => rng.normal());
      const q = orthogonalFactor(a, n, 'native');
      const r = matmul(q, a, n, n, n, { transA: true }); // R = Qᵀ A
      for (let i = 0; i < n; i++) {
        expect(r[i * n + i]!).toBeGreaterThan(0);
        for (let j = 0; j < i; j++) expect(Math.abs(r[i * n + j]!)).toBeLessThan(1e-12);
      }
      const tsQ = orthogonalFactor(a, n, 'ts');
      q.forEach((value, i) => expect(Math.abs(value - tsQ[i]!)).toBeLessThan(1e-10));
    });
  });
});

describe('gemm and helpers', () => {
  eachVariant(variants, ({ backend }) => {
    it('every transposition case agrees with a direct sum', () => {
      const rng = new Rng(9, 'test');
      const [m, k, n] = [13, 300, 21];
      const a = Float64Array.from({ length: m * k }, () => rng.normal());
      const b = Float64Array.from({ length: k * n }, () => rng.normal());
      const expected = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) expected[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const c = Float64Array.from({ length: m * n }, (_, i) => i);
          gemm(
            {
              a: transA ? transpose(a, m, k) : a,
              b: transB ? transpose(b, k, n) : b,
              c,
              m,
              n,
              k,
              transA,
              transB,
              alpha: 2,
              beta: -1,
            },
            backend,
          );
          c.forEach((value, i) => expect(value).toBeCloseTo(2 * expected[i]! - i, 10));
        }
      }
      expect(() => gemm({ a, b, c: new Float64Array(3), m, n, k }, backend)).toThrow(
        /C has 3 elements, expected 13×21/,
      );
    });
  });

  it('quadraticForms gives vᵀSv per row', () => {
    const s = Float64Array.of(2, 1, 1, 3);
    const rows = Float64Array.of(1, 0, 0, 1, Math.SQRT1_2, Math.SQRT1_2);
    const q = quadraticForms(s, rows, 2);
    expect(q[0]).toBeCloseTo(2, 14);
    expect(q[1]).toBeCloseTo(3, 14);
    expect(q[2]).toBeCloseTo(3.5, 14);
  });
});

describe('CovarianceAccumulator', () => {
  function twoPass(values: Float64Array, rows: number, d: number) {
    const mean = new Float64Array(d);
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) mean[j]! += values[r * d + j]! / rows;
    const cov = new Float64Array(d * d);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++)
          cov[i * d + j]! += ((values[r * d + i]! - mean[i]!) * (values[r * d + j]! - mean[j]!)) / (rows - 1);
    }
    return { mean, cov };
  }

  eachVariant(variants, ({ backend }) => {
    it('streams uneven batches, far from the origin, to the two-pass covariance', () => {
      const d = 5;
      const rows = 1000;
      const rng = new Rng(1, 'test');
      // Offset 1e6 with unit spread: Σxxᵀ/n − μμᵀ would lose every digit here.
      const values = Float64Array.from(
        { length: rows * d },
        (_, i) => 1e6 * (1 + (i % d)) + rng.normal() * (1 + (i % d)),
      );
      const { mean, cov } = twoPass(values, rows, d);
      const accumulator = new CovarianceAccumulator(d, { backend });
      let start = 0;
      for (const size of [1, 7, 300, 2, 690]) {
        accumulator.addRows(values.subarray(start * d, (start + size) * d));
        start += size;
      }
      expect(accumulator.count).toBe(rows);
      accumulator.mean().forEach((value, j) => expect(value).toBeCloseTo(mean[j]!, 6));
      accumulator
        .covariance()
        .forEach((value, i) => expect(Math.abs(value - cov[i]!)).toBeLessThan(1e-8 * Math.abs(cov[i * 0]!) + 1e-8));
      // Split in two and merged: the same answer.
      const first = new CovarianceAccumulator(d, { backend });
      const second = new CovarianceAccumulator(d, { backend });
      first.addRows(values.subarray(0, 400 * d));
      second.addRows(new Float32Array(values.length - 400 * d));
      const merged = CovarianceAccumulator.fromState(first.state());
      const rest = new CovarianceAccumulator(d, { backend });
      rest.addRows(values.subarray(400 * d));
      merged.merge(rest);
      merged.covariance().forEach((value, i) => expect(Math.abs(value - cov[i]!)).toBeLessThan(1e-8));
      expect(second.covariance()[0]).toBe(0);
    });
  });

  it('reports bad input clearly', () => {
    const accumulator = new CovarianceAccumulator(3);
    expect(() => accumulator.addRows(new Float64Array(4))).toThrow(/4 values are not whole rows of dimension 3/);
    expect(() => accumulator.covariance()).toThrow(/0 row\(s\) are too few/);
    expect(() => accumulator.addRows(Float64Array.of(1, NaN, 2))).toThrow(
      /column 1 of the batch has a non-finite value/,
    );
  });
});

/**
 * Symmetric eigendecomposition A = V Λ Vᵀ in float64.
 *
 * Native (default when built): Householder tridiagonalisation, divide and conquer (implicit QL for
 * small blocks) and the back-transformation in compact-WY blocks (native/src/linalg_eigen*.cc);
 * d = 3072 takes seconds (docs/analysis.md).
 * TypeScript fallback: ml-matrix's EigenvalueDecomposition (the same tred2/tql2 algorithm, unblocked;
 * fine up to a few hundred dimensions, minutes at 3072).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { resolveLinalg, type LinalgBackend } from './backend.js';
import { assertSymmetric } from './matrix.js';

export interface SymmetricEigen {
  readonly n: number;
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /**
   * n×n row-major; row i is the unit eigenvector of values[i]. Each is signed so that its
   * largest-magnitude entry is positive (deterministic, so images and cached results do not flip).
   */
  readonly vectors: Float64Array;
}

export interface EigenOptions {
  readonly backend?: LinalgBackend;
  /** Names the matrix in errors (e.g. 'Σ_w of conv1'). */
  readonly what?: string;
}

export function symmetricEigen(a: Float64Array, n: number, options: EigenOptions = {}): SymmetricEigen {
  const what = options.what ?? 'symmetricEigen input';
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what}: size must be a non-negative integer, got ${n}`);
  assertSymmetric(a, n, what);
  const symmetric = symmetrize(a, n);
  const native = resolveLinalg(options.backend);
  if (native) {
    const { values, vectors } = native.symmetricEigen(symmetric, n);
    return { n, values, vectors };
  }
  return eigenWithMlMatrix(symmetric, n);
}

/** (A + Aᵀ)/2, so both backends see an exactly symmetric matrix. */
function symmetrize(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = a[i * n + i]!;
    for (let j = 0; j < i; j++) {
      const value = 0.5 * (a[i * n + j]! + a[j * n + i]!);
      out[i * n + j] = value;
      out[j * n + i] = value;
    }
  }
  return out;
}

function eigenWithMlMatrix(a: Float64Array, n: number): SymmetricEigen {
  if (n === 0) return { n, values: new Float64Array(0), vectors: new Float64Array(0) };
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(a.subarray(i * n, (i + 1) * n)));
  const decomposition = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const rawValues = decomposition.realEigenvalues;
  const columns = decomposition.eigenvectorMatrix;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => rawValues[x]! - rawValues[y]!);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((source, i) => {
    values[i] = rawValues[source]!;
    let largest = 0;
    for (let j = 1; j < n; j++) {
      if (Math.abs(columns.get(j, source)) > Math.abs(columns.get(largest, source))) largest = j;
    }
    const sign = columns.get(largest, source) < 0 ? -1 : 1;
    for (let j = 0; j < n; j++) vectors[i * n + j] = sign * columns.get(j, source);
  });
  return { n, values, vectors };
}

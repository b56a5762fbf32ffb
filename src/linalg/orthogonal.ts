/**
 * Haar-random orthonormal bases: the reference against which the data eigenbasis's misalignment
 * is compared (docs/paper.md §2).
 *
 * Q of the QR decomposition of a matrix of i.i.d. standard normals, with the columns' signs fixed
 * so R has a positive diagonal, is Haar-distributed on O(d) (Mezzadri, "How to generate random
 * matrices from the classical compact groups", Notices AMS 2007). Without the sign fix it is not.
 */
import { QrDecomposition, Matrix } from 'ml-matrix';
import { Rng } from '../tensor/rng.js';
import { resolveLinalg, type LinalgBackend } from './backend.js';
import { transpose } from './matrix.js';

/** The orthogonal factor Q (n×n, row-major) of a = Q·R with diag(R) ≥ 0. */
export function orthogonalFactor(a: Float64Array, n: number, backend?: LinalgBackend): Float64Array {
  if (a.length !== n * n) throw new Error(`orthogonalFactor: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const native = resolveLinalg(backend);
  if (native) return native.orthogonalFactor(a, n);
  if (n === 0) return new Float64Array(0);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(a.subarray(i * n, (i + 1) * n)));
  const qr = new QrDecomposition(new Matrix(rows));
  const q = qr.orthogonalMatrix;
  const r = qr.upperTriangularMatrix;
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const sign = r.get(j, j) < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) out[i * n + j] = sign * q.get(i, j);
  }
  return out;
}

/**
 * d Haar-random orthonormal vectors in R^d, as the rows of a d×d row-major matrix, drawn from the
 * generator's stream (conventionally `new Rng(seed, 'basis')`). Same seed and stream, same basis.
 */
export function haarOrthonormalBasis(d: number, rng: Rng, backend?: LinalgBackend): Float64Array {
  if (!Number.isSafeInteger(d) || d < 1)
    throw new Error(`haarOrthonormalBasis: dimension must be a positive integer, got ${d}`);
  const gaussian = new Float64Array(d * d);
  rng.fillNormal(gaussian);
  // Columns of Q are the basis; return them as rows.
  return transpose(orthogonalFactor(gaussian, d, backend), d, d);
}

/** The seeded random basis the analysis compares against: stream 'basis' of `seed`. */
export function seededHaarBasis(d: number, seed: number, backend?: LinalgBackend): Float64Array {
  return haarOrthonormalBasis(d, new Rng(seed, 'basis'), backend);
}

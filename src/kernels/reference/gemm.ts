/**
 * Dense linear algebra: gemm and the two row/column helpers used by linear layers.
 *
 * Products are accumulated in float64 and rounded to float32 once per output element, so the
 * reference is at least as accurate as any blocked float32 implementation tested against it.
 */
import type { GemmParams } from '../interface.js';

/** C[m,n] = alpha · op(A) · op(B) + beta · C (see GemmParams). */
export function gemm(a: Float32Array, b: Float32Array, c: Float32Array, p: GemmParams): void {
  const { m, n, k, transA, transB, alpha, beta } = p;
  // Strides so that op(A)[i,l] = a[i·aRow + l·aCol] and op(B)[l,j] = b[l·bRow + j·bCol].
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    if (transB) {
      // B is stored [n,k]: each output is a dot product of two rows, both read contiguously.
      for (let j = 0; j < n; j++) {
        let dot = 0;
        const bBase = j * k;
        let aIndex = i * aRow;
        for (let l = 0; l < k; l++, aIndex += aCol) dot += a[aIndex]! * b[bBase + l]!;
        acc[j] = dot;
      }
    } else {
      // i-k-j order: a row of B is streamed into the accumulator row for each A[i,l].
      for (let l = 0; l < k; l++) {
        // No skipping of zero entries: 0 · Inf must still give NaN, as in any BLAS.
        const ail = a[i * aRow + l * aCol]!;
        const bBase = l * n;
        for (let j = 0; j < n; j++) acc[j]! += ail * b[bBase + j]!;
      }
    }
    const cBase = i * n;
    if (beta === 0) {
      for (let j = 0; j < n; j++) c[cBase + j] = alpha * acc[j]!;
    } else {
      for (let j = 0; j < n; j++) c[cBase + j] = alpha * acc[j]! + beta * c[cBase + j]!;
    }
  }
}

/** y[r, :] += bias for every row r of y [rows, cols]. */
export function addRowVector(y: Float32Array, bias: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) y[base + j]! += bias[j]!;
  }
}

/** out[j] = Σ_r x[r, j] (beta = 0) or out[j] += Σ_r x[r, j] (beta = 1); sums in float64. */
export function sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number, beta: 0 | 1): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) acc[j]! += x[base + j]!;
  }
  for (let j = 0; j < cols; j++) out[j] = beta === 0 ? acc[j]! : out[j]! + acc[j]!;
}

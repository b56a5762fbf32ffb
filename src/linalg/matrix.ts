/**
 * Dense float64 matrices as row-major `Float64Array`s with explicit sizes, and the few operations
 * the analysis needs. Products go through the native GEMM when it is built (d = 3072 products are
 * 6·10^10 flops), else a plain TypeScript loop.
 */
import { resolveLinalg, type LinalgBackend } from './backend.js';

export interface GemmArgs {
  /** [m, k], or [k, m] when transA. */
  readonly a: Float64Array;
  /** [k, n], or [n, k] when transB. */
  readonly b: Float64Array;
  /** [m, n]; read only when beta ≠ 0. */
  readonly c: Float64Array;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly alpha?: number;
  readonly beta?: number;
}

/** C = alpha · op(A) · op(B) + beta · C, in place. */
export function gemm(args: GemmArgs, backend?: LinalgBackend): void {
  const { a, b, c, m, n, k } = args;
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  const alpha = args.alpha ?? 1;
  const beta = args.beta ?? 0;
  for (const [name, value] of [
    ['m', m],
    ['n', n],
    ['k', k],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`gemm: ${name} must be a non-negative integer, got ${value}`);
  }
  if (a.length !== m * k) throw new Error(`gemm: A has ${a.length} elements, expected ${m}×${k} = ${m * k}`);
  if (b.length !== k * n) throw new Error(`gemm: B has ${b.length} elements, expected ${k}×${n} = ${k * n}`);
  if (c.length !== m * n) throw new Error(`gemm: C has ${c.length} elements, expected ${m}×${n} = ${m * n}`);
  const native = resolveLinalg(backend);
  if (native) native.gemmF64(a, b, c, { m, n, k, transA, transB, alpha, beta });
  else gemmTs({ a, b, c, m, n, k, transA, transB, alpha, beta });
}

function gemmTs({ a, b, c, m, n, k, transA, transB, alpha, beta }: Required<GemmArgs>): void {
  // op(B) as a row-major [k, n] copy so the inner loop runs with unit stride.
  const bRows = transB ? transpose(b, n, k) : b;
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const aip = transA ? a[p * m + i]! : a[i * k + p]!;
      if (aip === 0) continue;
      const offset = p * n;
      for (let j = 0; j < n; j++) row[j]! += aip * bRows[offset + j]!;
    }
    const offset = i * n;
    for (let j = 0; j < n; j++) c[offset + j] = beta === 0 ? alpha * row[j]! : alpha * row[j]! + beta * c[offset + j]!;
  }
}

/** op(A) · op(B) as a new [m, n] matrix. */
export function matmul(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  options: { transA?: boolean; transB?: boolean; backend?: LinalgBackend } = {},
): Float64Array {
  const c = new Float64Array(m * n);
  gemm({ a, b, c, m, n, k, transA: options.transA ?? false, transB: options.transB ?? false }, options.backend);
  return c;
}

/** The [cols, rows] transpose of a row-major [rows, cols] matrix. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  }
  return out;
}

export function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

export function frobeniusNorm(a: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
  if (scale === 0) return 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i]! / scale;
    sum += t * t;
  }
  return scale * Math.sqrt(sum);
}

/** Throws, naming `what`, unless `a` is n×n, finite and symmetric to rounding (relative 1e-10). */
export function assertSymmetric(a: Float64Array, n: number, what: string): void {
  if (a.length !== n * n) throw new Error(`${what}: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const value = a[i]!;
    if (!Number.isFinite(value)) throw new Error(`${what}: entry (${Math.floor(i / n)}, ${i % n}) is ${value}`);
    maxAbs = Math.max(maxAbs, Math.abs(value));
  }
  const tolerance = 1e-10 * maxAbs;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const gap = Math.abs(a[i * n + j]! - a[j * n + i]!);
      if (gap > tolerance) {
        throw new Error(
          `${what} is not symmetric: entries (${i}, ${j}) = ${a[i * n + j]} and (${j}, ${i}) = ${a[j * n + i]} differ by ${gap}`,
        );
      }
    }
  }
}

/** q_i = v_iᵀ · S · v_i for each row v_i of `rows` ([count, d]) and a symmetric d×d matrix S. */
export function quadraticForms(s: Float64Array, rows: Float64Array, d: number, backend?: LinalgBackend): Float64Array {
  if (s.length !== d * d) throw new Error(`quadraticForms: matrix has ${s.length} values, expected ${d}×${d}`);
  if (rows.length % d !== 0) throw new Error(`quadraticForms: ${rows.length} values are not whole rows of length ${d}`);
  const count = rows.length / d;
  const projected = matmul(rows, s, count, d, d, backend ? { backend } : {}); // row i = v_iᵀ S (S symmetric)
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += projected[i * d + j]! * rows[i * d + j]!;
    out[i] = sum;
  }
  return out;
}

/** A float64 copy of any numeric array. */
export function toFloat64(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values);
}

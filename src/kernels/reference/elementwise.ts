/** Elementwise maps and whole-buffer reductions. Reductions accumulate in float64. */

export function reluForward(x: Float32Array, y: Float32Array): void {
  // x > 0 ? x : 0 keeps NaN as NaN (NaN > 0 is false, so NaN would become 0): test for it explicitly,
  // as torch.relu propagates NaN.
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    y[i] = v > 0 || Number.isNaN(v) ? v : 0;
  }
}

/** dx = dy where y > 0, else 0 (y is the relu output). */
export function reluBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < y.length; i++) dx[i] = y[i]! > 0 ? dy[i]! : 0;
}

export function add(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
}

/** y += alpha · x. */
export function axpy(alpha: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += alpha * x[i]!;
}

export function scale(x: Float32Array, alpha: number, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) out[i] = alpha * x[i]!;
}

export function mul(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < a.length; i++) out[i] = a[i]! * b[i]!;
}

export function fill(x: Float32Array, value: number): void {
  x.fill(value);
}

export function sum(x: Float32Array): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i]!;
  return total;
}

export function sumSquares(x: Float32Array): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i]! * x[i]!;
  return total;
}

/**
 * Elementwise maps and whole-array reductions on the device (src/kernels/reference/elementwise.ts
 * and addRowVector of gemm.ts are the specification). One thread per element; arrays longer than
 * 65535 workgroups of 256 use a second grid dimension (shader.ts, LINEAR_INDEX).
 */
import { requireLength, requireSizes } from './checks.js';
import { reduceInto } from './reduce.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { elementShader, IS_NAN, read, readWrite, type Shader } from './shader.js';

const RELU_FORWARD = elementShader(
  'reluForward',
  [],
  [read('x'), readWrite('y')],
  'let v = x[i]; y[i] = select(0.0, v, v > 0.0 || isNan(v));',
  IS_NAN,
);
const RELU_BACKWARD = elementShader(
  'reluBackward',
  [],
  [read('y'), read('dy'), readWrite('dx')],
  'dx[i] = select(0.0, dy[i], y[i] > 0.0);',
);
const ADD = elementShader('add', [], [read('a'), read('b'), readWrite('out')], 'out[i] = a[i] + b[i];');
const MUL = elementShader('mul', [], [read('a'), read('b'), readWrite('out')], 'out[i] = a[i] * b[i];');
const AXPY = elementShader('axpy', [['alpha', 'f32']], [read('x'), readWrite('y')], 'y[i] = y[i] + p.alpha * x[i];');
const SCALE = elementShader('scale', [['alpha', 'f32']], [read('x'), readWrite('out')], 'out[i] = p.alpha * x[i];');
const MUL_BY_SCALAR = elementShader('mulByScalar', [], [read('scalar'), readWrite('x')], 'x[i] = scalar[0] * x[i];');
const FILL = elementShader('fill', [['value', 'f32']], [readWrite('x')], 'x[i] = p.value;');
const ADD_ROW_VECTOR = elementShader(
  'addRowVector',
  [['cols', 'u32']],
  [read('bias'), readWrite('y')],
  'y[i] = y[i] + bias[i % p.cols];',
);

function dispatchMap(
  gpu: WebGpu,
  shader: Shader,
  count: number,
  arrays: Record<string, DeviceArray>,
  params: Record<string, number> = {},
): void {
  if (count === 0) return;
  gpu.dispatch({ shader, arrays, params: { count, ...params }, groups: gpu.linearGroups(count) });
}

/** One thread per element of arrays that must all have the first one's length. */
function mapElements(
  gpu: WebGpu,
  shader: Shader,
  arrays: Record<string, DeviceArray>,
  params: Record<string, number> = {},
): void {
  const [[firstName, first], ...others] = Object.entries(arrays) as [[string, DeviceArray], ...[string, DeviceArray][]];
  for (const [name, array] of others)
    requireLength(shader.name, name, array, first.length, `${firstName} of ${first.length}`);
  dispatchMap(gpu, shader, first.length, arrays, params);
}

export function reluForward(gpu: WebGpu, x: DeviceArray, y: DeviceArray): void {
  mapElements(gpu, RELU_FORWARD, { x, y });
}

/** dx = dy where y > 0, else 0 (y is the relu output). */
export function reluBackward(gpu: WebGpu, y: DeviceArray, dy: DeviceArray, dx: DeviceArray): void {
  mapElements(gpu, RELU_BACKWARD, { y, dy, dx });
}

export function add(gpu: WebGpu, a: DeviceArray, b: DeviceArray, out: DeviceArray): void {
  mapElements(gpu, ADD, { a, b, out });
}

export function mul(gpu: WebGpu, a: DeviceArray, b: DeviceArray, out: DeviceArray): void {
  mapElements(gpu, MUL, { a, b, out });
}

/** y += alpha · x. */
export function axpy(gpu: WebGpu, alpha: number, x: DeviceArray, y: DeviceArray): void {
  mapElements(gpu, AXPY, { x, y }, { alpha });
}

/** out = alpha · x. */
export function scale(gpu: WebGpu, x: DeviceArray, alpha: number, out: DeviceArray): void {
  mapElements(gpu, SCALE, { x, out }, { alpha });
}

/** x *= scalar[0], a value that stays on the device (the upstream gradient of a loss, for one). */
export function mulByScalar(gpu: WebGpu, scalar: DeviceArray, x: DeviceArray): void {
  requireLength('mulByScalar', 'scalar', scalar, 1, 'a scalar');
  dispatchMap(gpu, MUL_BY_SCALAR, x.length, { scalar, x });
}

export function fill(gpu: WebGpu, x: DeviceArray, value: number): void {
  mapElements(gpu, FILL, { x }, { value });
}

/** y[r, :] += bias for every row r of y [rows, cols]. */
export function addRowVector(gpu: WebGpu, y: DeviceArray, bias: DeviceArray, rows: number, cols: number): void {
  requireSizes('addRowVector', { rows, cols });
  requireLength('addRowVector', 'y', y, rows * cols, `[${rows}, ${cols}]`);
  requireLength('addRowVector', 'bias', bias, cols, `[${rows}, ${cols}]`);
  dispatchMap(gpu, ADD_ROW_VECTOR, rows * cols, { bias, y }, { cols });
}

/** out[0] = Σ x (float32, pairwise: see reduce.ts). */
export function sum(gpu: WebGpu, x: DeviceArray, out: DeviceArray): void {
  reduceInto(gpu, 'sum', x, out, { squares: false, scale: 1 });
}

/** out[0] = Σ x² (float32, pairwise: see reduce.ts). */
export function sumSquares(gpu: WebGpu, x: DeviceArray, out: DeviceArray): void {
  reduceInto(gpu, 'sumSquares', x, out, { squares: true, scale: 1 });
}

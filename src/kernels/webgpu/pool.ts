/**
 * Pooling on the device (src/kernels/reference/pool.ts is the specification: PyTorch's MaxPool2d
 * and AvgPool2d with ceil_mode=False and count_include_pad=True, and the global average pool).
 *
 * One thread per element written. The backward passes gather instead of scattering: each input
 * pixel visits the outputs whose windows contain it, in the reference's row-major order, and adds
 * the gradients that belong to it, so no two threads write the same element.
 */
import type { Pool2dParams } from '../interface.js';
import { requireLength, requireSizes, requireType, requireWindowGeometry } from './checks.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { elementShader, IS_NAN, read, readWrite, WINDOW_PARAMS, type Shader } from './shader.js';

// −∞, the value of padding for max pooling, comes as a parameter: WGSL has no infinite constants.
const GEOMETRY: Shader['params'] = [...WINDOW_PARAMS, ['lowest', 'f32']];

const WINDOW_HELPERS = /* wgsl */ `${IS_NAN}
// The first output (along one axis) whose window reaches input position pos + pad; windows start at o·stride.
fn firstWindow(pos: u32, pad: u32, k: u32, stride: u32) -> u32 {
  let reach = pos + pad;
  if (reach < k) { return 0u; }
  return (reach - k) / stride + 1u;
}`;

function poolShader(name: string, params: Shader['params'], storage: Shader['storage'], body: string): Shader {
  return elementShader(name, params, storage, body, WINDOW_HELPERS);
}

// Window bounds of output (oh, ow), clipped to the image: rows [ih0, ih1), columns [iw0, iw1).
const OUTPUT_WINDOW = /* wgsl */ `
  let ow = i % p.outW;
  let oh = (i / p.outW) % p.outH;
  let plane = i / (p.outW * p.outH);
  let xBase = plane * p.h * p.w;
  let hStart = i32(oh * p.strideH) - i32(p.padH);
  let wStart = i32(ow * p.strideW) - i32(p.padW);
  let ih0 = u32(max(hStart, 0));
  let iw0 = u32(max(wStart, 0));
  let ih1 = u32(min(hStart + i32(p.kh), i32(p.h)));
  let iw1 = u32(min(wStart + i32(p.kw), i32(p.w)));`;

// The outputs whose windows contain input (ih, iw): rows [oh0, oh1), columns [ow0, ow1).
const INPUT_WINDOWS = /* wgsl */ `
  let iw = i % p.w;
  let ih = (i / p.w) % p.h;
  let plane = i / (p.w * p.h);
  let oBase = plane * p.outH * p.outW;
  let oh0 = firstWindow(ih, p.padH, p.kh, p.strideH);
  let ow0 = firstWindow(iw, p.padW, p.kw, p.strideW);
  let oh1 = min((ih + p.padH) / p.strideH + 1u, p.outH);
  let ow1 = min((iw + p.padW) / p.strideW + 1u, p.outW);`;

const MAX_FORWARD = poolShader(
  'maxPool2dForward',
  GEOMETRY,
  [read('x'), readWrite('y'), readWrite('indices', 'i32')],
  /* wgsl */ `${OUTPUT_WINDOW}
  // Padding is −∞; ties keep the first maximum in row-major order; a NaN wins.
  var best = p.lowest;
  var bestIndex = ih0 * p.w + iw0;
  for (var ih = ih0; ih < ih1; ih = ih + 1u) {
    for (var iw = iw0; iw < iw1; iw = iw + 1u) {
      let value = x[xBase + ih * p.w + iw];
      if (value > best || isNan(value)) {
        best = value;
        bestIndex = ih * p.w + iw;
      }
    }
  }
  y[i] = best;
  indices[i] = i32(bestIndex);`,
);

const MAX_BACKWARD = poolShader(
  'maxPool2dBackward',
  GEOMETRY,
  [read('dy'), read('indices', 'i32'), readWrite('dx')],
  /* wgsl */ `${INPUT_WINDOWS}
  let me = i32(ih * p.w + iw);
  var total = 0.0;
  for (var oh = oh0; oh < oh1; oh = oh + 1u) {
    for (var ow = ow0; ow < ow1; ow = ow + 1u) {
      let o = oBase + oh * p.outW + ow;
      if (indices[o] == me) { total = total + dy[o]; }
    }
  }
  dx[i] = total;`,
);

const AVG_FORWARD = poolShader(
  'avgPool2dForward',
  GEOMETRY,
  [read('x'), readWrite('y')],
  /* wgsl */ `${OUTPUT_WINDOW}
  var total = 0.0;
  for (var ih = ih0; ih < ih1; ih = ih + 1u) {
    for (var iw = iw0; iw < iw1; iw = iw + 1u) { total = total + x[xBase + ih * p.w + iw]; }
  }
  y[i] = total / f32(p.kh * p.kw);`,
);

const AVG_BACKWARD = poolShader(
  'avgPool2dBackward',
  GEOMETRY,
  [read('dy'), readWrite('dx')],
  /* wgsl */ `${INPUT_WINDOWS}
  var total = 0.0;
  let divisor = f32(p.kh * p.kw);
  for (var oh = oh0; oh < oh1; oh = oh + 1u) {
    for (var ow = ow0; ow < ow1; ow = ow + 1u) { total = total + dy[oBase + oh * p.outW + ow] / divisor; }
  }
  dx[i] = total;`,
);

const PLANE: Shader['params'] = [['hw', 'u32']];

const GLOBAL_FORWARD = poolShader(
  'globalAvgPoolForward',
  PLANE,
  [read('x'), readWrite('y')],
  /* wgsl */ `
  var total = 0.0;
  for (var s = 0u; s < p.hw; s = s + 1u) { total = total + x[i * p.hw + s]; }
  y[i] = total / f32(p.hw);`,
);

const GLOBAL_BACKWARD = poolShader(
  'globalAvgPoolBackward',
  PLANE,
  [read('dy'), readWrite('dx')],
  'dx[i] = dy[i / p.hw] / f32(p.hw);',
);

function checkPool(kernel: string, p: Pool2dParams, x: DeviceArray, y: DeviceArray): void {
  requireSizes(kernel, { ...p });
  const { n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const shape = `x [${n}, ${c}, ${h}, ${w}], window ${kh}×${kw}, stride ${strideH}×${strideW}, pad ${padH}×${padW}`;
  requireWindowGeometry(kernel, p, shape);
  requireLength(kernel, 'x', x, n * c * h * w, shape);
  requireLength(kernel, 'y', y, n * c * outH * outW, shape);
}

function dispatchPool(
  gpu: WebGpu,
  shader: Shader,
  count: number,
  arrays: Record<string, DeviceArray>,
  params: Record<string, number>,
): void {
  if (count === 0) return;
  gpu.dispatch({ shader, arrays, params: { ...params, count, lowest: -Infinity }, groups: gpu.linearGroups(count) });
}

/** indices[o] = flat index (ih·w + iw, within its plane) of the max that produced y[o]. */
export function maxPool2dForward(
  gpu: WebGpu,
  x: DeviceArray,
  y: DeviceArray,
  indices: DeviceArray,
  p: Pool2dParams,
): void {
  checkPool('maxPool2dForward', p, x, y);
  requireType('maxPool2dForward', 'indices', indices, 'i32');
  requireLength('maxPool2dForward', 'indices', indices, y.length, `y of ${y.length}`);
  dispatchPool(gpu, MAX_FORWARD, y.length, { x, y, indices }, { ...p });
}

export function maxPool2dBackward(
  gpu: WebGpu,
  dy: DeviceArray,
  indices: DeviceArray,
  dx: DeviceArray,
  p: Pool2dParams,
): void {
  checkPool('maxPool2dBackward', p, dx, dy);
  requireType('maxPool2dBackward', 'indices', indices, 'i32');
  requireLength('maxPool2dBackward', 'indices', indices, dy.length, `dy of ${dy.length}`);
  dispatchPool(gpu, MAX_BACKWARD, dx.length, { dy, indices, dx }, { ...p });
}

export function avgPool2dForward(gpu: WebGpu, x: DeviceArray, y: DeviceArray, p: Pool2dParams): void {
  checkPool('avgPool2dForward', p, x, y);
  dispatchPool(gpu, AVG_FORWARD, y.length, { x, y }, { ...p });
}

export function avgPool2dBackward(gpu: WebGpu, dy: DeviceArray, dx: DeviceArray, p: Pool2dParams): void {
  checkPool('avgPool2dBackward', p, dx, dy);
  dispatchPool(gpu, AVG_BACKWARD, dx.length, { dy, dx }, { ...p });
}

/** x[nc, hw] → y[nc] (mean over hw). */
export function globalAvgPoolForward(gpu: WebGpu, x: DeviceArray, y: DeviceArray, nc: number, hw: number): void {
  requireSizes('globalAvgPoolForward', { nc, hw });
  requireLength('globalAvgPoolForward', 'x', x, nc * hw, `[${nc}, ${hw}]`);
  requireLength('globalAvgPoolForward', 'y', y, nc, `[${nc}, ${hw}]`);
  dispatchPool(gpu, GLOBAL_FORWARD, nc, { x, y }, { hw });
}

/** dx[plane, i] = dy[plane] / hw. */
export function globalAvgPoolBackward(gpu: WebGpu, dy: DeviceArray, dx: DeviceArray, nc: number, hw: number): void {
  requireSizes('globalAvgPoolBackward', { nc, hw });
  requireLength('globalAvgPoolBackward', 'dy', dy, nc, `[${nc}, ${hw}]`);
  requireLength('globalAvgPoolBackward', 'dx', dx, nc * hw, `[${nc}, ${hw}]`);
  dispatchPool(gpu, GLOBAL_BACKWARD, nc * hw, { dy, dx }, { hw });
}

/**
 * 2-d convolution on the device (src/kernels/reference/conv2d.ts is the specification: PyTorch's
 * Conv2d, cross-correlation, zero padding, NCHW, weights [outC, inC, kh, kw]).
 *
 * Direct kernels, one thread per element written, so no thread ever adds into another's output:
 * the forward gathers each output from its window (a dot product of length c·kh·kw), the data
 * gradient gathers each input pixel from the outputs it fed (outC·kh·kw terms at most), and the
 * filter gradient gives each weight a thread that walks the batch (n·outH·outW terms). Plain and
 * correct first; im2col + the tiled GEMM is the faster route for the large layers. All sums are
 * float32 (the reference's are float64).
 */
import type { Conv2dParams } from '../interface.js';
import { requireLength, requireSizes, requireWindowGeometry } from './checks.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { elementShader, read, readWrite, WINDOW_PARAMS, type Shader } from './shader.js';

const GEOMETRY: Shader['params'] = [['n', 'u32'], ['c', 'u32'], ['outC', 'u32'], ...WINDOW_PARAMS];

/** A one-thread-per-element conv shader; `body` runs for the flat index `i` < p.count. */
function convShader(name: string, storage: Shader['storage'], body: string): Shader {
  return elementShader(name, GEOMETRY, storage, body);
}

// y[b, o, oh, ow] = bias[o] + Σ_{ci, ki, kj} w[o, ci, ki, kj] · x[b, ci, oh·sH − pH + ki, ow·sW − pW + kj]
const FORWARD_SUM = /* wgsl */ `
  let ow = i % p.outW;
  let oh = (i / p.outW) % p.outH;
  let o = (i / (p.outW * p.outH)) % p.outC;
  let b = i / (p.outW * p.outH * p.outC);
  var total = 0.0;
  for (var ci = 0u; ci < p.c; ci = ci + 1u) {
    let xPlane = (b * p.c + ci) * p.h * p.w;
    let wBase = (o * p.c + ci) * p.kh * p.kw;
    for (var ki = 0u; ki < p.kh; ki = ki + 1u) {
      // Unsigned: a row above the image wraps to a huge value and fails the bounds test, as does one below.
      let ih = oh * p.strideH + ki - p.padH;
      if (ih >= p.h) { continue; }
      for (var kj = 0u; kj < p.kw; kj = kj + 1u) {
        let iw = ow * p.strideW + kj - p.padW;
        if (iw >= p.w) { continue; }
        total = total + w[wBase + ki * p.kw + kj] * x[xPlane + ih * p.w + iw];
      }
    }
  }`;

const FORWARD = convShader(
  'conv2dForward',
  [read('x'), read('w'), readWrite('y')],
  `${FORWARD_SUM}
  y[i] = total;`,
);
const FORWARD_BIAS = convShader(
  'conv2dForward (bias)',
  [read('x'), read('w'), read('bias'), readWrite('y')],
  `${FORWARD_SUM}
  y[i] = total + bias[o];`,
);

// dx[b, ci, ih, iw] = Σ over (o, ki, kj) with oh·sH = ih + pH − ki and ow·sW = iw + pW − kj in range of w · dy.
const BACKWARD_DATA = convShader(
  'conv2dBackwardData',
  [read('dy'), read('w'), readWrite('dx')],
  /* wgsl */ `
  let iw = i % p.w;
  let ih = (i / p.w) % p.h;
  let ci = (i / (p.w * p.h)) % p.c;
  let b = i / (p.w * p.h * p.c);
  var total = 0.0;
  for (var o = 0u; o < p.outC; o = o + 1u) {
    let dyPlane = (b * p.outC + o) * p.outH * p.outW;
    let wBase = (o * p.c + ci) * p.kh * p.kw;
    for (var ki = 0u; ki < p.kh; ki = ki + 1u) {
      let rowOffset = ih + p.padH;
      if (rowOffset < ki || (rowOffset - ki) % p.strideH != 0u) { continue; }
      let oh = (rowOffset - ki) / p.strideH;
      if (oh >= p.outH) { continue; }
      for (var kj = 0u; kj < p.kw; kj = kj + 1u) {
        let colOffset = iw + p.padW;
        if (colOffset < kj || (colOffset - kj) % p.strideW != 0u) { continue; }
        let ow = (colOffset - kj) / p.strideW;
        if (ow >= p.outW) { continue; }
        total = total + w[wBase + ki * p.kw + kj] * dy[dyPlane + oh * p.outW + ow];
      }
    }
  }
  dx[i] = total;`,
);

// dw[o, ci, ki, kj] = Σ_{b, oh, ow} dy[b, o, oh, ow] · x[b, ci, oh·sH − pH + ki, ow·sW − pW + kj]
const BACKWARD_FILTER = convShader(
  'conv2dBackwardFilter',
  [read('x'), read('dy'), readWrite('dw')],
  /* wgsl */ `
  let kj = i % p.kw;
  let ki = (i / p.kw) % p.kh;
  let ci = (i / (p.kw * p.kh)) % p.c;
  let o = i / (p.kw * p.kh * p.c);
  var total = 0.0;
  for (var b = 0u; b < p.n; b = b + 1u) {
    let xPlane = (b * p.c + ci) * p.h * p.w;
    let dyPlane = (b * p.outC + o) * p.outH * p.outW;
    for (var oh = 0u; oh < p.outH; oh = oh + 1u) {
      let ih = oh * p.strideH + ki - p.padH;
      if (ih >= p.h) { continue; }
      for (var ow = 0u; ow < p.outW; ow = ow + 1u) {
        let iw = ow * p.strideW + kj - p.padW;
        if (iw >= p.w) { continue; }
        total = total + dy[dyPlane + oh * p.outW + ow] * x[xPlane + ih * p.w + iw];
      }
    }
  }
  dw[i] = total;`,
);

// dbias[o] = Σ_{b, plane} dy[b, o, plane]
const BACKWARD_BIAS = convShader(
  'conv2dBackwardFilter (bias)',
  [read('dy'), readWrite('dbias')],
  /* wgsl */ `
  let plane = p.outH * p.outW;
  var total = 0.0;
  for (var b = 0u; b < p.n; b = b + 1u) {
    let base = (b * p.outC + i) * plane;
    for (var s = 0u; s < plane; s = s + 1u) { total = total + dy[base + s]; }
  }
  dbias[i] = total;`,
);

/** Checks the geometry (outH/outW as the interface defines them) and the four array lengths. */
function checkConv(
  kernel: string,
  p: Conv2dParams,
  arrays: { x: DeviceArray; w: DeviceArray; y: DeviceArray; bias: DeviceArray | null },
): void {
  requireSizes(kernel, { ...p });
  const { n, c, h, w, outC, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  const shape = `x [${n}, ${c}, ${h}, ${w}], w [${outC}, ${c}, ${kh}, ${kw}], stride ${strideH}×${strideW}, pad ${padH}×${padW}`;
  requireWindowGeometry(kernel, p, shape);
  requireLength(kernel, 'x', arrays.x, n * c * h * w, shape);
  requireLength(kernel, 'w', arrays.w, outC * c * kh * kw, shape);
  requireLength(kernel, 'y', arrays.y, n * outC * outH * outW, shape);
  if (arrays.bias) requireLength(kernel, 'bias', arrays.bias, outC, shape);
}

function dispatchConv(
  gpu: WebGpu,
  shader: Shader,
  count: number,
  arrays: Record<string, DeviceArray>,
  p: Conv2dParams,
) {
  if (count === 0) return;
  gpu.dispatch({ shader, arrays, params: { ...p, count }, groups: gpu.linearGroups(count) });
}

/** y = conv(x, w) + bias; bias may be null. */
export function conv2dForward(
  gpu: WebGpu,
  x: DeviceArray,
  w: DeviceArray,
  bias: DeviceArray | null,
  y: DeviceArray,
  p: Conv2dParams,
): void {
  checkConv('conv2dForward', p, { x, w, y, bias });
  if (bias) dispatchConv(gpu, FORWARD_BIAS, y.length, { x, w, bias, y }, p);
  else dispatchConv(gpu, FORWARD, y.length, { x, w, y }, p);
}

/** dx = ∂L/∂x given dy (overwrites dx). */
export function conv2dBackwardData(
  gpu: WebGpu,
  dy: DeviceArray,
  w: DeviceArray,
  dx: DeviceArray,
  p: Conv2dParams,
): void {
  checkConv('conv2dBackwardData', p, { x: dx, w, y: dy, bias: null });
  dispatchConv(gpu, BACKWARD_DATA, dx.length, { dy, w, dx }, p);
}

/** dw = ∂L/∂w and dbias = ∂L/∂bias (dbias may be null); both overwritten. */
export function conv2dBackwardFilter(
  gpu: WebGpu,
  x: DeviceArray,
  dy: DeviceArray,
  dw: DeviceArray,
  dbias: DeviceArray | null,
  p: Conv2dParams,
): void {
  checkConv('conv2dBackwardFilter', p, { x, w: dw, y: dy, bias: dbias });
  dispatchConv(gpu, BACKWARD_FILTER, dw.length, { x, dy, dw }, p);
  if (dbias) dispatchConv(gpu, BACKWARD_BIAS, dbias.length, { dy, dbias }, p);
}

/**
 * 2-d convolution on the device (src/kernels/reference/conv2d.ts is the specification: PyTorch's
 * Conv2d, cross-correlation, zero padding, NCHW, weights [outC, inC, kh, kw]).
 *
 * Implicit GEMM: all three are the tiled GEMM of gemm.ts whose operand loads compute the im2col
 * matrix on the fly, cols[(ci, ki, kj), (b, oh, ow)] = x[b, ci, oh·sH − pH + ki, ow·sW − pW + kj]
 * (0 in the padding), so no column buffer is ever written or allocated:
 * - forward: y[o, (b, oh, ow)] = W[o, (ci, ki, kj)] · cols, the epilogue storing into NCHW (+ bias);
 * - filter gradient: dW[o, (ci, ki, kj)] = dy[o, (b, oh, ow)] · colsᵀ, a reduction over the whole
 *   batch; the reduction is split over the grid's z dimension when outC·c·kh·kw alone gives too
 *   few workgroups (cnn2's first layer: 1 tile, 45 000-term sums), each split writing a partial
 *   result into a scratch array that sumRows then adds up;
 * - data gradient: dx[ci, (b, ih, iw)] = W'[ci, (o, ki, kj)] · dy', the transposed convolution as a
 *   gather: dy'[(o, ki, kj), (b, ih, iw)] = dy[b, o, oh, ow] where oh·sH = ih + pH − ki (and
 *   likewise ow), 0 where no output saw the pixel. One thread per input pixel, no atomics, no
 *   col2im buffer; with stride s, s² − 1 of every s² terms are such zeros, which the stride-2
 *   layers (ResNet's downsampling) pay for in GEMM work rather than in a buffer of n·outH·outW·c·kh·kw.
 * The forward and data gradient are chunked over the batch so that no dispatch needs more than
 * maxComputeWorkgroupsPerDimension workgroups along the columns. For thin shapes, where a 64×64
 * tile would be mostly idle, they run as direct kernels instead (useDirect states the rule).
 * Sums are float32 (the reference's are float64), in tiles of 16 terms, then across splits.
 */
import type { Conv2dParams } from '../interface.js';
import { requireLength, requireSizes, requireWindowGeometry } from './checks.js';
import { GEMM_TILE, gemmGroups, gemmShader, kSplitLength, sumRows, type GemmOperands } from './gemm.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { scratchArray } from './scratch.js';
import { elementShader, read, readWrite, WINDOW_PARAMS, type Shader } from './shader.js';

/** The geometry every conv shader receives; `firstImage` offsets the batch chunk a dispatch covers. */
const GEOMETRY: Shader['params'] = [
  ['batch', 'u32'],
  ['c', 'u32'],
  ['outC', 'u32'],
  ['firstImage', 'u32'],
  ...WINDOW_PARAMS,
];

// im2col(l, j) = x[b, ci, oh·sH − pH + ki, ow·sW − pW + kj] for row l = (ci, ki, kj) and column
// j = (b − firstImage, oh, ow), 0 in the padding. Unsigned: a row above the image wraps to a huge
// value and fails the bounds test, as does one below.
const IM2COL = /* wgsl */ `
fn im2col(l: u32, j: u32) -> f32 {
  let window = p.kh * p.kw;
  let ci = l / window;
  let ki = (l % window) / p.kw;
  let kj = l % p.kw;
  let plane = p.outH * p.outW;
  let b = p.firstImage + j / plane;
  let s = j % plane;
  let ih = (s / p.outW) * p.strideH + ki - p.padH;
  let iw = (s % p.outW) * p.strideW + kj - p.padW;
  if (ih >= p.h || iw >= p.w) { return 0.0; }
  return x[((b * p.c + ci) * p.h + ih) * p.w + iw];
}`;

/**
 * Operands whose loads run `loadA` (of i, l) and `loadB` (of l, j), WGSL ending in a return, inside
 * the bounds; im2col reads x, so it is declared where x is bound.
 */
function convOperands(storage: GemmOperands['storage'], loadA: string, loadB: string): GemmOperands {
  return {
    storage,
    loads: /* wgsl */ `${storage.some((b) => b.name === 'x') ? IM2COL : ''}
fn loadA(i: u32, l: u32) -> f32 {
  if (i >= p.m || l >= p.k) { return 0.0; }
  ${loadA}
}
fn loadB(l: u32, j: u32) -> f32 {
  if (l >= p.k || j >= p.n) { return 0.0; }
  ${loadB}
}`,
  };
}

// y = W [outC, c·kh·kw] · cols [c·kh·kw, chunk·outH·outW]; both walked along their contiguous index.
const FORWARD_OPERANDS = convOperands([read('w'), read('x')], 'return w[i * p.k + l];', 'return im2col(l, j);');

/** Stores `value` for output channel i, column j = (b − firstImage, oh, ow) into y [n, outC, outH, outW]. */
const STORE_Y = (value: string): string => /* wgsl */ `
        let plane = p.outH * p.outW;
        y[((p.firstImage + j / plane) * p.outC + i) * plane + j % plane] = ${value};`;

const FORWARD = gemmShader('conv2dForward', GEOMETRY, [readWrite('y')], STORE_Y('product'), '', FORWARD_OPERANDS);
const FORWARD_BIAS = gemmShader(
  'conv2dForward (bias)',
  GEOMETRY,
  [read('bias'), readWrite('y')],
  STORE_Y('product + bias[i]'),
  '',
  FORWARD_OPERANDS,
);

// dW partial [outC, c·kh·kw] = dy [outC, (b, oh, ow)] · colsᵀ over the split's range of (b, oh, ow).
// A is read along its columns (an image's plane is contiguous in dy), B = colsᵀ along its rows.
const BACKWARD_FILTER = gemmShader(
  'conv2dBackwardFilter',
  GEOMETRY,
  [readWrite('partial')],
  'partial[split * p.m * p.n + index] = product;',
  '',
  convOperands(
    [read('dy'), read('x')],
    /* wgsl */ `let plane = p.outH * p.outW;
  return dy[((l / plane) * p.outC + i) * plane + l % plane];`,
    'return im2col(j, l);',
  ),
);

// dx [c, chunk·h·w] = W' [c, (o, ki, kj)] · dy' [(o, ki, kj), (b, ih, iw)], dy' the gather above.
const BACKWARD_DATA = gemmShader(
  'conv2dBackwardData',
  GEOMETRY,
  [readWrite('dx')],
  /* wgsl */ `
        let image = p.h * p.w;
        dx[((p.firstImage + j / image) * p.c + i) * image + j % image] = product;`,
  '',
  convOperands(
    [read('w'), read('dy')],
    /* wgsl */ `let window = p.kh * p.kw;
  return w[((l / window) * p.c + i) * window + l % window];`,
    /* wgsl */ `let window = p.kh * p.kw;
  let o = l / window;
  let ki = (l % window) / p.kw;
  let kj = l % p.kw;
  let image = p.h * p.w;
  let b = p.firstImage + j / image;
  let rowOffset = (j % image) / p.w + p.padH;
  let colOffset = j % p.w + p.padW;
  if (rowOffset < ki || colOffset < kj) { return 0.0; }
  let dr = rowOffset - ki;
  let dc = colOffset - kj;
  if (dr % p.strideH != 0u || dc % p.strideW != 0u) { return 0.0; }
  let oh = dr / p.strideH;
  let ow = dc / p.strideW;
  if (oh >= p.outH || ow >= p.outW) { return 0.0; }
  return dy[((b * p.outC + o) * p.outH + oh) * p.outW + ow];`,
  ),
);

/**
 * The direct kernels, one thread per element written, for the shapes where a 64×64 GEMM tile is
 * mostly idle (see useDirect): the forward gathers each output from its window, the data gradient
 * each input pixel from the outputs it fed.
 */
function directShader(name: string, storage: Shader['storage'], body: string): Shader {
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

const DIRECT_FORWARD = directShader(
  'conv2dForward (direct)',
  [read('x'), read('w'), readWrite('y')],
  `${FORWARD_SUM}
  y[i] = total;`,
);
const DIRECT_FORWARD_BIAS = directShader(
  'conv2dForward (direct, bias)',
  [read('x'), read('w'), read('bias'), readWrite('y')],
  `${FORWARD_SUM}
  y[i] = total + bias[o];`,
);

// dx[b, ci, ih, iw] = Σ over (o, ki, kj) with oh·sH = ih + pH − ki and ow·sW = iw + pW − kj in range of w · dy.
const DIRECT_BACKWARD_DATA = directShader(
  'conv2dBackwardData (direct)',
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

// dbias[o] = Σ_{b, plane} dy[b, o, plane]
const BACKWARD_BIAS = directShader(
  'conv2dBackwardFilter (bias)',
  [read('dy'), readWrite('dbias')],
  /* wgsl */ `
  let plane = p.outH * p.outW;
  var total = 0.0;
  for (var b = 0u; b < p.batch; b = b + 1u) {
    let base = (b * p.outC + i) * plane;
    for (var s = 0u; s < plane; s = s + 1u) { total = total + dy[base + s]; }
  }
  dbias[i] = total;`,
);

/**
 * Whether a GEMM-shaped conv of `rows` × `columns` × `depth` should run as the direct kernel: when
 * fewer than 16 of a tile's 64 rows or columns are real (the data gradient of a 3-channel input:
 * 3.3 s direct against 13.2 s tiled for 50×3×32×32 → 32 on SwiftShader; vgg16's 2×2 layers at
 * batch 1, 4 columns: 0.24 s against 0.53 s of CPU for the forward), or the sums are shorter than 4
 * k steps of 16 (the first layer's 27-term windows, where staging a tile costs more than its reuse
 * saves: 2.3 s against 4.4 s for that forward). The filter gradient always takes the GEMM: its
 * direct kernel gives each weight one thread that walks n·outH·outW terms, a few hundred threads
 * for a first layer, which leaves a GPU idle.
 */
export function useDirect(rows: number, columns: number, depth: number): boolean {
  return rows < GEMM_TILE / 4 || columns < GEMM_TILE / 4 || depth < GEMM_TILE;
}

/** Workgroups the filter gradient aims for: enough to occupy a large GPU (an H100 has 132 multiprocessors). */
const TARGET_WORKGROUPS = 256;
/** The fewest terms of the filter gradient's sums one split takes, so that a split's work outweighs its partial sum. */
const MIN_SPLIT_TERMS = 2048;

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

/** The shader parameters of the geometry, for the batch chunk starting at `firstImage`. */
function geometry(p: Conv2dParams, firstImage: number): Record<string, number> {
  const { n, c, outC, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW } = p;
  return { batch: n, c, outC, firstImage, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW };
}

/** Records a direct kernel: one thread for each of the `count` elements it writes. */
function dispatchDirect(
  gpu: WebGpu,
  shader: Shader,
  count: number,
  arrays: Record<string, DeviceArray>,
  p: Conv2dParams,
) {
  if (count === 0) return;
  gpu.dispatch({ shader, arrays, params: { count, ...geometry(p, 0) }, groups: gpu.linearGroups(count) });
}

/**
 * Records one GEMM-shaped conv dispatch per chunk of images whose columns (perImage each) fit in
 * one dispatch: at most maxComputeWorkgroupsPerDimension tiles of GEMM_TILE columns.
 */
function dispatchOverBatch(
  gpu: WebGpu,
  kernel: string,
  shader: Shader,
  arrays: Record<string, DeviceArray>,
  p: Conv2dParams,
  rows: number,
  depth: number,
  perImage: number,
): void {
  if (p.n === 0 || rows === 0 || perImage === 0) return;
  const chunk = Math.floor((gpu.adapter.limits.maxComputeWorkgroupsPerDimension * GEMM_TILE) / perImage);
  if (chunk < 1)
    throw new Error(
      `webgpu ${kernel}: one image gives ${perImage} output columns, more than one dispatch covers (${gpu.adapter.limits.maxComputeWorkgroupsPerDimension} workgroups of ${GEMM_TILE})`,
    );
  for (let first = 0; first < p.n; first += chunk) {
    const columns = Math.min(chunk, p.n - first) * perImage;
    gpu.dispatch({
      shader,
      arrays,
      params: { m: rows, n: columns, k: depth, alpha: 1, kSplit: kSplitLength(depth, 1), ...geometry(p, first) },
      groups: gemmGroups(rows, columns),
    });
  }
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
  const arrays: Record<string, DeviceArray> = bias ? { x, w, bias, y } : { x, w, y };
  const depth = p.c * p.kh * p.kw;
  if (useDirect(p.outC, p.n * p.outH * p.outW, depth))
    dispatchDirect(gpu, bias ? DIRECT_FORWARD_BIAS : DIRECT_FORWARD, y.length, arrays, p);
  else
    dispatchOverBatch(gpu, 'conv2dForward', bias ? FORWARD_BIAS : FORWARD, arrays, p, p.outC, depth, p.outH * p.outW);
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
  const depth = p.outC * p.kh * p.kw;
  if (useDirect(p.c, p.n * p.h * p.w, depth)) dispatchDirect(gpu, DIRECT_BACKWARD_DATA, dx.length, { w, dy, dx }, p);
  else dispatchOverBatch(gpu, 'conv2dBackwardData', BACKWARD_DATA, { w, dy, dx }, p, p.c, depth, p.h * p.w);
}

/**
 * How many splits the filter gradient's sums of `terms` terms take: enough for TARGET_WORKGROUPS
 * with the output's `tiles`, none shorter than MIN_SPLIT_TERMS, within the grid's z limit and with
 * the partial results (splits · outputs) within one storage binding.
 */
export function filterGradientSplits(gpu: WebGpu, tiles: number, terms: number, outputs: number): number {
  const { maxComputeWorkgroupsPerDimension, maxStorageBufferBindingSize } = gpu.adapter.limits;
  const wanted = Math.ceil(TARGET_WORKGROUPS / tiles);
  const affordable = Math.floor(terms / MIN_SPLIT_TERMS);
  const fits = Math.floor(maxStorageBufferBindingSize / 4 / Math.max(1, outputs));
  return Math.max(1, Math.min(wanted, affordable, fits, maxComputeWorkgroupsPerDimension));
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
  const rows = p.outC;
  const columns = p.c * p.kh * p.kw;
  const terms = p.n * p.outH * p.outW;
  if (rows > 0 && columns > 0) {
    const [groupsX, groupsY] = gemmGroups(rows, columns);
    const splits = filterGradientSplits(gpu, groupsX * groupsY, terms, rows * columns);
    const partial = splits === 1 ? dw : scratchArray(gpu, 'conv2d filter gradient partials', splits * dw.length);
    gpu.dispatch({
      shader: BACKWARD_FILTER,
      arrays: { dy, x, partial },
      params: { m: rows, n: columns, k: terms, alpha: 1, kSplit: kSplitLength(terms, splits), ...geometry(p, 0) },
      groups: gemmGroups(rows, columns, splits),
      constants: { TRANS_B: true },
    });
    if (splits > 1) sumRows(gpu, partial, dw, splits, dw.length, 0);
  }
  if (dbias) dispatchDirect(gpu, BACKWARD_BIAS, dbias.length, { dy, dbias }, p);
}

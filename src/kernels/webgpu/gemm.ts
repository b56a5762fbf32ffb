/**
 * GEMM and the row/column helper of linear layers on the device (src/kernels/reference/gemm.ts is
 * the specification): C[m,n] = alpha · op(A) · op(B) + beta · C, with beta = 0 ignoring C.
 *
 * Tiled in workgroup memory: a 16×16 workgroup computes a 64×64 block of C, each thread a 4×4
 * micro-tile whose rows and columns are 16 apart, so that neighbouring threads write neighbouring
 * columns. Every step stages a 64×16 slice of op(A) and a 16×64 slice of op(B), reading A and B
 * along their contiguous dimension whatever the transposition; out-of-range elements load as 0,
 * which handles sizes that are not multiples of the tile. The transpositions are WGSL override
 * constants, so each of the four layouts is its own pipeline, without a branch per load.
 * Accumulation is float32 (the reference's is float64): the error is bounded by k·2⁻²⁴·(|A||B|)ᵢⱼ.
 *
 * Other kernels reuse the tiling with their own operands (`GemmOperands`: WGSL that reads op(A) and
 * op(B) from any layout, e.g. the convolutions' implicit im2col) and may split the k range over
 * the grid's z dimension (`kSplit`, a multiple of the k step), each split writing its own partial
 * result, for products whose m·n is too small to occupy the device but whose k is long.
 */
import type { GemmParams } from '../interface.js';
import { requireLength, requireSizes } from './checks.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { defineShader, read, readWrite, type Shader, type StorageBinding } from './shader.js';

const TILE = 64;
const TILE_K = 16;

/** The rows and columns of C one workgroup computes (a dispatch covers at most
 *  maxComputeWorkgroupsPerDimension·GEMM_TILE columns). */
export const GEMM_TILE = TILE;
const THREADS_PER_SIDE = 16;
const PER_THREAD = TILE / THREADS_PER_SIDE;
/** 0 … PER_THREAD − 1, for the unrolled micro-tile (a vec4 per row: PER_THREAD must be 4). */
const ROWS = Array.from({ length: PER_THREAD }, (_, r) => r);

/**
 * The tiled GEMM with its own epilogue: `store` writes `product` (alpha · op(A)·op(B) at row i,
 * column j) for the flat index `index` = i·n + j into `outputs`; `helpers` are WGSL declared before.
 * column j) for the flat index `index` = i·n + j of the split `split` into `outputs`; `helpers` are
 * WGSL declared before. `operands` says where op(A) and op(B) come from (by default the arrays a and
 * b, as GEMM lays them out).
 */
export function gemmShader(
  name: string,
  params: Shader['params'],
  outputs: readonly StorageBinding[],
  store: string,
  helpers = '',
  operands: GemmOperands = MATRIX_OPERANDS,
): Shader {
  return defineShader(
    name,
    [['m', 'u32'], ['n', 'u32'], ['k', 'u32'], ['alpha', 'f32'], ['kSplit', 'u32'], ...params],
    [...operands.storage, ...outputs],
    /* wgsl */ `${helpers}
override TRANS_A: bool = false;
override TRANS_B: bool = false;
const TS: u32 = ${TILE}u;
const TK: u32 = ${TILE_K}u;
const SIDE: u32 = ${THREADS_PER_SIDE}u;
const PT: u32 = ${PER_THREAD}u;
var<workgroup> tileA: array<f32, ${TILE * TILE_K}>; // [TK][TS]: op(A)[row0 + i, k0 + l] at l·TS + i
var<workgroup> tileB: array<f32, ${TILE * TILE_K}>; // [TK][TS]: op(B)[k0 + l, col0 + j] at l·TS + j
${operands.loads}
@compute @workgroup_size(${THREADS_PER_SIDE}, ${THREADS_PER_SIDE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let thread = lid.y * SIDE + lid.x;
  let row0 = wid.y * TS;
  let col0 = wid.x * TS;
  let split = wid.z;
  // kSplit is a multiple of TK, so only the last split's last step reaches past k (and loads zeros).
  let kBegin = split * p.kSplit;
  let kEnd = min(p.k, kBegin + p.kSplit);
  // Row r of the thread's micro-tile, columns in the lanes; separate variables with constant
  // indices, so that a compiler without loop unrolling (SwiftShader's) keeps them in registers.
${ROWS.map((r) => `  var acc${r} = vec4<f32>();`).join('\n')}
  let steps = (kEnd - min(kBegin, kEnd) + TK - 1u) / TK;
  for (var step = 0u; step < steps; step = step + 1u) {
    let k0 = kBegin + step * TK;
    for (var e = 0u; e < ${(TILE * TILE_K) / (THREADS_PER_SIDE * THREADS_PER_SIDE)}u; e = e + 1u) {
      let slot = thread + e * SIDE * SIDE;
      // Consecutive threads read consecutive addresses: along k when A is [m,k], along m when it is [k,m].
      var i: u32;
      var l: u32;
      if (TRANS_A) { i = slot % TS; l = slot / TS; } else { l = slot % TK; i = slot / TK; }
      tileA[l * TS + i] = loadA(row0 + i, k0 + l);
      var lb: u32;
      var j: u32;
      if (TRANS_B) { lb = slot % TK; j = slot / TK; } else { j = slot % TS; lb = slot / TS; }
      tileB[lb * TS + j] = loadB(k0 + lb, col0 + j);
    }
    workgroupBarrier();
    for (var l = 0u; l < TK; l = l + 1u) {
      let at = l * TS;
      let bv = vec4<f32>(${ROWS.map((q) => `tileB[at + lid.x + ${q * THREADS_PER_SIDE}u]`).join(', ')});
${ROWS.map((r) => `      acc${r} = acc${r} + tileA[at + lid.y + ${r * THREADS_PER_SIDE}u] * bv;`).join('\n')}
    }
    workgroupBarrier();
  }
  // Unrolled as well: each output names its accumulator lane by a constant.
${ROWS.flatMap((r) =>
  ROWS.map(
    (q) => `  {
    let i = row0 + lid.y + ${r * THREADS_PER_SIDE}u;
    let j = col0 + lid.x + ${q * THREADS_PER_SIDE}u;
    if (i < p.m && j < p.n) {
      let index = i * p.n + j;
      let product = p.alpha * acc${r}[${q}];
      ${store}
    }
  }`,
  ),
).join('\n')}
}`,
  );
}

/**
 * Where a GEMM-shaped kernel reads its operands: storage bindings, and WGSL defining
 * `fn loadA(i: u32, l: u32) -> f32` (op(A)[i, l]) and `fn loadB(l: u32, j: u32) -> f32` (op(B)[l, j]),
 * each 0 outside [0, m)×[0, k) or [0, k)×[0, n). TRANS_A/TRANS_B still choose which index
 * consecutive threads walk when staging a tile: set them to the operand's contiguous direction.
 */
export interface GemmOperands {
  readonly storage: readonly StorageBinding[];
  readonly loads: string;
}

/** op(A) and op(B) from the row-major arrays a [m, k] (or [k, m] transposed) and b [k, n] (or [n, k]). */
const MATRIX_OPERANDS: GemmOperands = {
  storage: [read('a'), read('b')],
  loads: /* wgsl */ `
fn loadA(i: u32, l: u32) -> f32 {
  if (i >= p.m || l >= p.k) { return 0.0; }
  if (TRANS_A) { return a[l * p.m + i]; }
  return a[i * p.k + l];
}

fn loadB(l: u32, j: u32) -> f32 {
  if (l >= p.k || j >= p.n) { return 0.0; }
  if (TRANS_B) { return b[j * p.k + l]; }
  return b[l * p.n + j];
}
`,
};

/** The k range of one split: `splits` ranges of whole k steps, covering k. */
export function kSplitLength(k: number, splits: number): number {
  return Math.max(TILE_K, Math.ceil(k / splits / TILE_K) * TILE_K);
}

/** The workgroup grid of a GEMM-shaped dispatch: x over the n columns, y over the m rows, z over the splits. */
export function gemmGroups(m: number, n: number, splits = 1): [number, number, number] {
  return [Math.ceil(n / TILE), Math.ceil(m / TILE), splits];
}

const GEMM = gemmShader(
  'gemm',
  [['beta', 'f32']],
  [readWrite('c')],
  // beta = 0 must not read C: it may hold NaN or garbage.
  'if (p.beta == 0.0) { c[index] = product; } else { c[index] = product + p.beta * c[index]; }',
);

const SUM_ROWS = defineShader(
  'sumRows',
  [
    ['rows', 'u32'],
    ['cols', 'u32'],
    ['accumulate', 'u32'],
  ],
  [read('x'), readWrite('out')],
  /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.cols) { return; }
  var total = 0.0;
  for (var r = 0u; r < p.rows; r = r + 1u) { total = total + x[r * p.cols + j]; }
  if (p.accumulate != 0u) { out[j] = out[j] + total; } else { out[j] = total; }
}`,
);

/**
 * Checks A and B and every output ([m, n]) against the shape, then records a GEMM-shaped dispatch
 * of `shader` (one of gemmShader's) with the transpositions as its override constants.
 */
export function recordGemm(
  gpu: WebGpu,
  kernel: string,
  shader: Shader,
  a: DeviceArray,
  b: DeviceArray,
  outputs: Record<string, DeviceArray>,
  gemm: Omit<GemmParams, 'beta'>,
  params: Record<string, number>,
): void {
  const { m, n, k, transA, transB, alpha } = gemm;
  requireSizes(kernel, { m, n, k });
  const shape = `m=${m} n=${n} k=${k}${transA ? ' transA' : ''}${transB ? ' transB' : ''}`;
  requireLength(kernel, 'A', a, m * k, shape);
  requireLength(kernel, 'B', b, k * n, shape);
  for (const [name, array] of Object.entries(outputs)) requireLength(kernel, name, array, m * n, shape);
  if (m === 0 || n === 0) return;
  gpu.dispatch({
    shader,
    arrays: { a, b, ...outputs },
    params: { m, n, k, alpha, kSplit: kSplitLength(k, 1), ...params },
    groups: gemmGroups(m, n),
    constants: { TRANS_A: transA, TRANS_B: transB },
  });
}

/** C[m,n] = alpha · op(A) · op(B) + beta · C (see GemmParams). */
export function gemm(gpu: WebGpu, a: DeviceArray, b: DeviceArray, c: DeviceArray, params: GemmParams): void {
  recordGemm(gpu, 'gemm', GEMM, a, b, { c }, params, { beta: params.beta });
}

/** out[j] = Σ_r x[r, j] (beta = 0) or out[j] += Σ_r x[r, j] (beta = 1); one thread per column, float32. */
export function sumRows(gpu: WebGpu, x: DeviceArray, out: DeviceArray, rows: number, cols: number, beta: 0 | 1): void {
  requireSizes('sumRows', { rows, cols });
  requireLength('sumRows', 'x', x, rows * cols, `[${rows}, ${cols}]`);
  requireLength('sumRows', 'out', out, cols, `[${rows}, ${cols}]`);
  if (cols === 0) return;
  gpu.dispatch({
    shader: SUM_ROWS,
    arrays: { x, out },
    params: { rows, cols, accumulate: beta },
    groups: [Math.ceil(cols / 256)],
  });
}

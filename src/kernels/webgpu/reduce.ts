/**
 * Whole-array sums on the device, in two dispatches: up to 256 workgroups each reduce a strided
 * share of the array into one partial sum, then one workgroup adds the partials and scales the
 * total into a one-element output. WGSL has no float64, so where the reference accumulates in
 * float64 these accumulate in float32, but pairwise (a tree in workgroup memory) after a short
 * serial run per thread; the error stays near (serial run + 2·log2 256)·2⁻²⁴·Σ|x|.
 */
import { requireLength } from './checks.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { defineShader, read, readWrite, treeSum } from './shader.js';

/** Partial sums per reduction (one per first-stage workgroup), and the threads of each workgroup. */
const PARTIALS = 256;
const THREADS = 256;

const PARTIAL_SUMS = defineShader(
  'reducePartials',
  [
    ['count', 'u32'],
    ['squares', 'u32'],
  ],
  [read('x'), readWrite('partials')],
  /* wgsl */ `${treeSum(THREADS)}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
  var total = 0.0;
  let stride = groups.x * ${THREADS}u;
  for (var i = wid.x * ${THREADS}u + lid.x; i < p.count; i = i + stride) {
    let v = x[i];
    total = total + select(v, v * v, p.squares != 0u);
  }
  let whole = treeSum(lid.x, total);
  if (lid.x == 0u) { partials[wid.x] = whole; }
}`,
);

const FINISH = defineShader(
  'reduceFinish',
  [
    ['count', 'u32'],
    ['scale', 'f32'],
  ],
  [read('partials'), readWrite('out')],
  /* wgsl */ `${treeSum(THREADS)}
@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let value = select(0.0, partials[lid.x], lid.x < p.count);
  let whole = treeSum(lid.x, value);
  if (lid.x == 0u) { out[0] = whole * p.scale; }
}`,
);

const scratch = new WeakMap<WebGpu, DeviceArray>();

function partialsArray(gpu: WebGpu): DeviceArray {
  let array = scratch.get(gpu);
  if (!array) {
    // Dispatches of one batch run in order, so every reduction can reuse the same partials.
    array = gpu.createArray(PARTIALS, 'f32', 'reduction partials');
    scratch.set(gpu, array);
  }
  return array;
}

/** out[0] = scale · Σ x (or Σ x²) over the first `count` elements (all by default); out holds one element. */
export function reduceInto(
  gpu: WebGpu,
  kernel: string,
  x: DeviceArray,
  out: DeviceArray,
  options: { readonly squares: boolean; readonly scale: number; readonly count?: number },
): void {
  requireLength(kernel, 'out', out, 1, 'a scalar result');
  const count = options.count ?? x.length;
  const partials = partialsArray(gpu);
  const groups = Math.max(1, Math.min(PARTIALS, Math.ceil(count / THREADS)));
  gpu.dispatch({
    shader: PARTIAL_SUMS,
    arrays: { x, partials },
    params: { count, squares: options.squares ? 1 : 0 },
    groups: [groups],
  });
  gpu.dispatch({
    shader: FINISH,
    arrays: { partials, out },
    params: { count: groups, scale: options.scale },
    groups: [1],
  });
}

/**
 * How shaders are written: a `Shader` declares its uniform parameters and storage bindings once,
 * and the WGSL declarations are generated from those lists, so the host (runtime.ts, which packs
 * the parameters) and the shader cannot disagree about the layout. Also the WGSL pieces several
 * kernels share: the flat index of one-dimensional launches, a NaN test, a workgroup tree sum.
 */
export type ElementType = 'f32' | 'i32';
export type ParamType = 'u32' | 'i32' | 'f32';

/** Threads per workgroup of the one-dimensional kernels (elementwise maps, reductions). */
export const LINEAR_WORKGROUP = 256;

/** Bytes of parameters one dispatch may have (runtime.ts gives each dispatch a slot this large). */
export const PARAM_BLOCK_BYTES = 256;

export interface StorageBinding {
  readonly name: string;
  readonly type: ElementType;
  readonly access: 'read' | 'read_write';
}

/** A WGSL compute shader with entry point `main`, its uniform parameters and its storage bindings. */
export interface Shader {
  readonly name: string;
  readonly params: readonly (readonly [string, ParamType])[];
  readonly storage: readonly StorageBinding[];
  readonly code: string;
}

/**
 * A shader whose declarations come from its parameter and binding lists: `p` (binding 0) holds the
 * parameters, then each storage array at bindings 1, 2, … under its own name. `body` holds `main`.
 */
export function defineShader(name: string, params: Shader['params'], storage: Shader['storage'], body: string): Shader {
  if (params.length === 0 || params.length * 4 > PARAM_BLOCK_BYTES)
    throw new Error(`shader ${name}: needs 1 to ${PARAM_BLOCK_BYTES / 4} parameters, has ${params.length}`);
  const fields = params.map(([field, type]) => `  ${field}: ${type},`).join('\n');
  const bindings = storage
    .map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`)
    .join('\n');
  const code = `struct Params {\n${fields}\n}\n@group(0) @binding(0) var<uniform> p: Params;\n${bindings}\n${body}`;
  return { name, params, storage, code };
}

/** Shorthands for binding lists. */
export const read = (name: string, type: ElementType = 'f32'): StorageBinding => ({ name, type, access: 'read' });
export const readWrite = (name: string, type: ElementType = 'f32'): StorageBinding => ({
  name,
  type,
  access: 'read_write',
});

/** WGSL for the flat index of a one-dimensional kernel launched by `linearGroups` (2-d grid past 65535 groups). */
export const LINEAR_INDEX = /* wgsl */ `
const WG: u32 = ${LINEAR_WORKGROUP}u;
fn linearIndex(wid: vec3<u32>, groups: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * groups.x + wid.x) * WG + lid.x;
}`;

/** The uniform fields of checks.ts's WindowGeometry (convolution and pooling). */
export const WINDOW_PARAMS: Shader['params'] = [
  ['h', 'u32'],
  ['w', 'u32'],
  ['kh', 'u32'],
  ['kw', 'u32'],
  ['strideH', 'u32'],
  ['strideW', 'u32'],
  ['padH', 'u32'],
  ['padW', 'u32'],
  ['outH', 'u32'],
  ['outW', 'u32'],
];

/** A shader with one thread per element: `body` runs for the flat index `i` < p.count; `helpers` precede main. */
export function elementShader(
  name: string,
  params: Shader['params'],
  storage: Shader['storage'],
  body: string,
  helpers = '',
): Shader {
  return defineShader(
    name,
    [['count', 'u32'], ...params],
    storage,
    /* wgsl */ `${LINEAR_INDEX}
${helpers}
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = linearIndex(wid, groups, lid);
  if (i >= p.count) { return; }
  ${body}
}`,
  );
}

/** WGSL lets a compiler assume there are no NaNs, so v != v may fold to false: test the bits instead. */
export const IS_NAN = /* wgsl */ `
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}`;

/** `treeSum(lid, value)`: the sum of `value` over a workgroup of `threads` (a power of 2), for every thread. */
export function treeSum(threads: number): string {
  return /* wgsl */ `
var<workgroup> treeSlots: array<f32, ${threads}>;
fn treeSum(lid: u32, value: f32) -> f32 {
  treeSlots[lid] = value;
  workgroupBarrier();
  for (var stride = ${threads / 2}u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { treeSlots[lid] = treeSlots[lid] + treeSlots[lid + stride]; }
    workgroupBarrier();
  }
  let total = treeSlots[0];
  // Everyone has read the total before a next treeSum overwrites slot 0.
  workgroupBarrier();
  return total;
}`;
}

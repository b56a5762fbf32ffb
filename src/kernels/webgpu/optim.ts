/**
 * Optimiser updates on the device, in place (src/kernels/reference/optim.ts is the specification:
 * torch.optim's single-tensor SGD, step by step). The reference computes each element in float64
 * and rounds once; these compute in float32, a few roundings per element.
 */
import type { SgdParams } from '../interface.js';
import { requireLength } from './checks.js';
import { defineShader, LINEAR_INDEX, read, readWrite, type DeviceArray, type Shader, type WebGpu } from './runtime.js';

const SGD_PARAMS: Shader['params'] = [
  ['count', 'u32'],
  ['lr', 'f32'],
  ['momentum', 'f32'],
  ['oneMinusDampening', 'f32'],
  ['weightDecay', 'f32'],
  ['nesterov', 'u32'],
  ['firstStep', 'u32'],
];

/** `update` turns the decayed gradient `d` into the step direction (momentum) or leaves it. */
function sgdShader(name: string, storage: Shader['storage'], update: string): Shader {
  return defineShader(
    name,
    SGD_PARAMS,
    storage,
    /* wgsl */ `${LINEAR_INDEX}
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = linearIndex(wid, groups, lid);
  if (i >= p.count) { return; }
  var d = grad[i];
  if (p.weightDecay != 0.0) { d = d + p.weightDecay * param[i]; }
  ${update}
  param[i] = param[i] - p.lr * d;
}`,
  );
}

const SGD_PLAIN = sgdShader('sgdUpdate', [readWrite('param'), read('grad')], '');
// PyTorch: buf = d on the first step, else momentum · buf + (1 − dampening) · d;
// then d = nesterov ? d + momentum · buf : buf.
const SGD_MOMENTUM = sgdShader(
  'sgdUpdate (momentum)',
  [readWrite('param'), read('grad'), readWrite('buffer')],
  /* wgsl */ `var buf = d;
  if (p.firstStep == 0u) { buf = p.momentum * buffer[i] + p.oneMinusDampening * d; }
  buffer[i] = buf;
  if (p.nesterov != 0u) { d = d + p.momentum * buf; } else { d = buf; }`,
);

/** torch.optim.SGD's update of param with grad (and the momentum buffer when momentum ≠ 0). */
export function sgdUpdate(
  gpu: WebGpu,
  param: DeviceArray,
  grad: DeviceArray,
  momentumBuffer: DeviceArray | null,
  p: SgdParams,
): void {
  const shape = `param of ${param.length}`;
  requireLength('sgdUpdate', 'grad', grad, param.length, shape);
  const withMomentum = p.momentum !== 0 && momentumBuffer !== null;
  if (withMomentum) requireLength('sgdUpdate', 'momentumBuffer', momentumBuffer, param.length, shape);
  if (param.length === 0) return;
  gpu.dispatch({
    shader: withMomentum ? SGD_MOMENTUM : SGD_PLAIN,
    arrays: withMomentum ? { param, grad, buffer: momentumBuffer } : { param, grad },
    params: {
      count: param.length,
      lr: p.lr,
      momentum: p.momentum,
      // 1 − dampening on the host, in float64, as the reference computes it.
      oneMinusDampening: 1 - p.dampening,
      weightDecay: p.weightDecay,
      nesterov: p.nesterov ? 1 : 0,
      firstStep: p.firstStep ? 1 : 0,
    },
    groups: gpu.linearGroups(param.length),
  });
}

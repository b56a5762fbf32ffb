/**
 * Optimiser updates on the device, in place (src/kernels/reference/optim.ts is the specification:
 * torch.optim's single-tensor SGD and Adam/AdamW, step by step). The reference computes each
 * element in float64 and rounds once; these compute in float32, a few roundings per element.
 */
import type { AdamParams, GemmParams, SgdParams } from '../interface.js';
import { gemmShader, recordGemm } from './gemm.js';
import { requireLength } from './checks.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { elementShader, read, readWrite, type Shader } from './shader.js';

const SGD_PARAMS: Shader['params'] = [
  ['lr', 'f32'],
  ['momentum', 'f32'],
  ['oneMinusDampening', 'f32'],
  ['weightDecay', 'f32'],
  ['nesterov', 'u32'],
  ['firstStep', 'u32'],
];

// torch.optim.SGD for param[index] given its gradient: d = grad + weightDecay · param; with momentum,
// buf = d on the first step, else momentum · buf + (1 − dampening) · d, then d = nesterov ? d + momentum · buf
// : buf; param −= lr · d. The same function serves the elementwise update and the fused GEMM epilogue.
function sgdStep(withMomentum: boolean): string {
  const momentum = /* wgsl */ `
  var buf = d;
  if (p.firstStep == 0u) { buf = p.momentum * buffer[index] + p.oneMinusDampening * d; }
  buffer[index] = buf;
  if (p.nesterov != 0u) { d = d + p.momentum * buf; } else { d = buf; }`;
  return /* wgsl */ `
fn sgdStep(index: u32, grad: f32) {
  var d = grad;
  if (p.weightDecay != 0.0) { d = d + p.weightDecay * param[index]; }${withMomentum ? momentum : ''}
  param[index] = param[index] - p.lr * d;
}`;
}
const SGD_STEP = sgdStep(false);
const SGD_STEP_MOMENTUM = sgdStep(true);

const SGD_PLAIN = elementShader(
  'sgdUpdate',
  SGD_PARAMS,
  [readWrite('param'), read('grad')],
  'sgdStep(i, grad[i]);',
  SGD_STEP,
);
const SGD_MOMENTUM = elementShader(
  'sgdUpdate (momentum)',
  SGD_PARAMS,
  [readWrite('param'), read('grad'), readWrite('buffer')],
  'sgdStep(i, grad[i]);',
  SGD_STEP_MOMENTUM,
);
const GEMM_SGD_PLAIN = gemmShader(
  'gemmSgdUpdate',
  SGD_PARAMS,
  [readWrite('param')],
  'sgdStep(index, product);',
  SGD_STEP,
);
const GEMM_SGD_MOMENTUM = gemmShader(
  'gemmSgdUpdate (momentum)',
  SGD_PARAMS,
  [readWrite('param'), readWrite('buffer')],
  'sgdStep(index, product);',
  SGD_STEP_MOMENTUM,
);

/** The uniform values of SGD_PARAMS. */
function sgdValues(p: SgdParams): Record<string, number> {
  return {
    lr: p.lr,
    momentum: p.momentum,
    // 1 − dampening on the host, in float64, as the reference computes it.
    oneMinusDampening: 1 - p.dampening,
    weightDecay: p.weightDecay,
    nesterov: p.nesterov ? 1 : 0,
    firstStep: p.firstStep ? 1 : 0,
  };
}

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
    params: { count: param.length, ...sgdValues(p) },
    groups: gpu.linearGroups(param.length),
  });
}

/**
 * sgdUpdate of param [m, n] with the gradient alpha · op(A) · op(B), fused: the GEMM's epilogue
 * applies the step to each element as its tile finishes, so the gradient is never stored.
 */
export function gemmSgdUpdate(
  gpu: WebGpu,
  a: DeviceArray,
  b: DeviceArray,
  param: DeviceArray,
  momentumBuffer: DeviceArray | null,
  p: Omit<GemmParams, 'beta'>,
  sgd: SgdParams,
): void {
  if (sgd.momentum !== 0 && momentumBuffer !== null)
    recordGemm(gpu, 'gemmSgdUpdate', GEMM_SGD_MOMENTUM, a, b, { param, buffer: momentumBuffer }, p, sgdValues(sgd));
  else recordGemm(gpu, 'gemmSgdUpdate', GEMM_SGD_PLAIN, a, b, { param }, p, sgdValues(sgd));
}

const ADAM = elementShader(
  'adamUpdate',
  [
    ['lr', 'f32'],
    ['beta1', 'f32'],
    ['beta2', 'f32'],
    ['eps', 'f32'],
    ['weightDecay', 'f32'],
    ['decoupled', 'u32'],
    ['stepSize', 'f32'],
    ['biasCorrection2Sqrt', 'f32'],
  ],
  [readWrite('param'), read('grad'), readWrite('m'), readWrite('v')],
  /* wgsl */ `
  var g = grad[i];
  var value = param[i];
  if (p.weightDecay != 0.0) {
    if (p.decoupled != 0u) { value = value * (1.0 - p.lr * p.weightDecay); } else { g = g + p.weightDecay * value; }
  }
  let first = m[i] + (1.0 - p.beta1) * (g - m[i]);
  let second = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = first;
  v[i] = second;
  param[i] = value - p.stepSize * first / (sqrt(second) / p.biasCorrection2Sqrt + p.eps);`,
);

/** torch.optim.Adam / AdamW (decoupled); the bias corrections are computed on the host, in float64. */
export function adamUpdate(
  gpu: WebGpu,
  param: DeviceArray,
  grad: DeviceArray,
  m: DeviceArray,
  v: DeviceArray,
  p: AdamParams,
): void {
  const shape = `param of ${param.length}`;
  for (const [name, array] of [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const)
    requireLength('adamUpdate', name, array, param.length, shape);
  if (!Number.isSafeInteger(p.step) || p.step < 1)
    throw new Error(`webgpu adamUpdate: step must be 1 or more, got ${p.step}`);
  if (param.length === 0) return;
  gpu.dispatch({
    shader: ADAM,
    arrays: { param, grad, m, v },
    params: {
      count: param.length,
      lr: p.lr,
      beta1: p.beta1,
      beta2: p.beta2,
      eps: p.eps,
      weightDecay: p.weightDecay,
      decoupled: p.decoupled ? 1 : 0,
      stepSize: p.lr / (1 - p.beta1 ** p.step),
      biasCorrection2Sqrt: Math.sqrt(1 - p.beta2 ** p.step),
    },
    groups: gpu.linearGroups(param.length),
  });
}

/** relu, add, mul, scale, sum/mean and dropout on the WebGPU device (the cpu ops are the specification). */
import {
  add,
  fill,
  mul,
  mulByScalar,
  reduceInto,
  reluBackward,
  reluForward,
  scale,
  type DeviceArray,
} from '../../../kernels/webgpu/index.js';
import { recordOp } from '../../autograd.js';
import { emptyOnWebGpu, type Tensor } from '../../tensor.js';
import { deviceGrad, gpuOf } from './common.js';

/** relu into a new array: WebGPU forbids a dispatch that writes an array it also reads, so no in-place form. */
export function reluOnWebGpu(x: Tensor): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu(x.shape);
  reluForward(gpu, x.deviceArray, out.deviceArray);
  return recordOp<DeviceArray>('relu', out, [x], (g) => {
    const dx = deviceGrad(x.size);
    reluBackward(gpu, out.deviceArray, g, dx);
    return [dx];
  });
}

export function addOnWebGpu(a: Tensor, b: Tensor): Tensor {
  const out = emptyOnWebGpu(a.shape);
  add(gpuOf(a), a.deviceArray, b.deviceArray, out.deviceArray);
  return recordOp<DeviceArray>('add', out, [a, b], (g) => [a.requiresGrad ? g : null, b.requiresGrad ? g : null]);
}

export function mulOnWebGpu(a: Tensor, b: Tensor): Tensor {
  const gpu = gpuOf(a);
  const out = emptyOnWebGpu(a.shape);
  mul(gpu, a.deviceArray, b.deviceArray, out.deviceArray);
  return recordOp<DeviceArray>('mul', out, [a, b], (g) => {
    let da: DeviceArray | null = null;
    let db: DeviceArray | null = null;
    if (b.requiresGrad) {
      db = deviceGrad(b.size);
      mul(gpu, g, a.deviceArray, db);
    }
    if (a.requiresGrad) {
      da = deviceGrad(a.size);
      mul(gpu, g, b.deviceArray, da);
    }
    return [da, db];
  });
}

export function scaleOnWebGpu(x: Tensor, alpha: number): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu(x.shape);
  scale(gpu, x.deviceArray, alpha, out.deviceArray);
  return recordOp<DeviceArray>('scale', out, [x], (g) => {
    const dx = deviceGrad(x.size);
    scale(gpu, g, alpha, dx);
    return [dx];
  });
}

/** factor · Σ x as a one-element device tensor (float32 pairwise sums: kernels/webgpu/reduce.ts). */
export function reduceToScalarOnWebGpu(op: string, x: Tensor, factor: number): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu([]);
  reduceInto(gpu, op, x.deviceArray, out.deviceArray, { squares: false, scale: factor });
  return recordOp<DeviceArray>(op, out, [x], (g) => {
    const dx = deviceGrad(x.size);
    fill(gpu, dx, factor);
    mulByScalar(gpu, g, dx);
    return [dx];
  });
}

/** Inverted dropout with `mask` (0 or 1/(1 − p) per element) drawn on the host: the same stream as the cpu op. */
export function dropoutOnWebGpu(x: Tensor, mask: Float32Array): Tensor {
  const gpu = gpuOf(x);
  const deviceMask = emptyOnWebGpu(x.shape);
  gpu.writeArray(deviceMask.deviceArray, mask);
  const out = emptyOnWebGpu(x.shape);
  mul(gpu, x.deviceArray, deviceMask.deviceArray, out.deviceArray);
  return recordOp<DeviceArray>('dropout', out, [x], (g) => {
    const dx = deviceGrad(x.size);
    mul(gpu, g, deviceMask.deviceArray, dx);
    return [dx];
  });
}

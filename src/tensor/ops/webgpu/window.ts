/** Convolution and pooling on the WebGPU device (the cpu ops ../conv2d.ts, ../maxPool2d.ts, … are the spec). */
import type { Conv2dParams, Pool2dParams } from '../../../kernels/interface.js';
import {
  avgPool2dBackward,
  avgPool2dForward,
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
  type DeviceArray,
} from '../../../kernels/webgpu/index.js';
import { recordOp } from '../../autograd.js';
import { emptyOnWebGpu, type Tensor } from '../../tensor.js';
import { deviceGrad, deviceGradFor, gpuOf } from './common.js';

export function conv2dOnWebGpu(x: Tensor, weight: Tensor, bias: Tensor | null, p: Conv2dParams): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu([p.n, p.outC, p.outH, p.outW]);
  conv2dForward(gpu, x.deviceArray, weight.deviceArray, bias ? bias.deviceArray : null, out.deviceArray, p);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordOp<DeviceArray>('conv2d', out, inputs, (g) => {
    let dx: DeviceArray | null = null;
    if (x.requiresGrad) {
      dx = deviceGrad(x.size);
      conv2dBackwardData(gpu, g, weight.deviceArray, dx, p);
    }
    let dw: DeviceArray | null = null;
    let db: DeviceArray | null = null;
    if (weight.requiresGrad || bias?.requiresGrad) {
      dw = deviceGrad(weight.size);
      db = bias ? deviceGrad(bias.size) : null;
      conv2dBackwardFilter(gpu, x.deviceArray, g, dw, db, p);
    }
    return bias ? [dx, deviceGradFor(weight, dw), deviceGradFor(bias, db)] : [dx, deviceGradFor(weight, dw)];
  });
}

export function maxPool2dOnWebGpu(x: Tensor, p: Pool2dParams): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu([p.n, p.c, p.outH, p.outW]);
  const winners = emptyOnWebGpu(out.shape, undefined, 'int32');
  maxPool2dForward(gpu, x.deviceArray, out.deviceArray, winners.deviceArray, p);
  return recordOp<DeviceArray>('maxPool2d', out, [x], (g) => {
    const dx = deviceGrad(x.size);
    maxPool2dBackward(gpu, g, winners.deviceArray, dx, p);
    return [dx];
  });
}

export function avgPool2dOnWebGpu(x: Tensor, p: Pool2dParams): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu([p.n, p.c, p.outH, p.outW]);
  avgPool2dForward(gpu, x.deviceArray, out.deviceArray, p);
  return recordOp<DeviceArray>('avgPool2d', out, [x], (g) => {
    const dx = deviceGrad(x.size);
    avgPool2dBackward(gpu, g, dx, p);
    return [dx];
  });
}

export function globalAvgPool2dOnWebGpu(x: Tensor, n: number, c: number, hw: number): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu([n, c]);
  globalAvgPoolForward(gpu, x.deviceArray, out.deviceArray, n * c, hw);
  return recordOp<DeviceArray>('globalAvgPool2d', out, [x], (g) => {
    const dx = deviceGrad(x.size);
    globalAvgPoolBackward(gpu, g, dx, n * c, hw);
    return [dx];
  });
}

/** Batch norm on the WebGPU device (the cpu op in ../batchNorm.ts is the specification, rule for rule). */
import type { BatchNormParams } from '../../../kernels/interface.js';
import {
  batchNormBackward,
  batchNormEvalForward,
  batchNormTrainForward,
  fill,
  scale,
  type DeviceArray,
} from '../../../kernels/webgpu/index.js';
import { recordOp } from '../../autograd.js';
import { devicePool } from '../../device.js';
import { emptyOnWebGpu, type Tensor } from '../../tensor.js';
import { deviceGrad, deviceGradFor, gpuOf } from './common.js';

export function batchNormTrainOnWebGpu(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormParams,
): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu(x.shape);
  const saveMean = emptyOnWebGpu([p.c]);
  const saveInvStd = emptyOnWebGpu([p.c]);
  batchNormTrainForward(
    gpu,
    x.deviceArray,
    gamma.deviceArray,
    beta.deviceArray,
    out.deviceArray,
    saveMean.deviceArray,
    saveInvStd.deviceArray,
    runningMean.deviceArray,
    runningVar.deviceArray,
    p,
  );
  return recordOp<DeviceArray>('batchNorm', out, [x, gamma, beta], (g) => {
    const dx = deviceGrad(x.size);
    const dgamma = deviceGrad(p.c);
    const dbeta = deviceGrad(p.c);
    batchNormBackward(
      gpu,
      x.deviceArray,
      g,
      gamma.deviceArray,
      saveMean.deviceArray,
      saveInvStd.deviceArray,
      dx,
      dgamma,
      dbeta,
      p,
    );
    return [deviceGradFor(x, dx), deviceGradFor(gamma, dgamma), deviceGradFor(beta, dbeta)];
  });
}

/** A per-channel array of `value` from the pool, for the eval backward's fixed statistics. */
function constantArray(x: Tensor, length: number, value: number): DeviceArray {
  const array = deviceGrad(length);
  fill(gpuOf(x), array, value);
  return array;
}

export function batchNormEvalOnWebGpu(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormParams,
): Tensor {
  const gpu = gpuOf(x);
  const out = emptyOnWebGpu(x.shape);
  batchNormEvalForward(
    gpu,
    x.deviceArray,
    gamma.deviceArray,
    beta.deviceArray,
    runningMean.deviceArray,
    runningVar.deviceArray,
    out.deviceArray,
    p,
  );
  // The running statistics may change (a later train-mode call) before backward runs: keep copies.
  const mean = emptyOnWebGpu([p.c]);
  const variance = emptyOnWebGpu([p.c]);
  scale(gpu, runningMean.deviceArray, 1, mean.deviceArray);
  scale(gpu, runningVar.deviceArray, 1, variance.deviceArray);
  return recordOp<DeviceArray>('batchNorm', out, [x, gamma, beta], (g) => {
    const zeros = constantArray(x, p.c, 0);
    const ones = constantArray(x, p.c, 1);
    let dx: DeviceArray | null = null;
    if (x.requiresGrad) {
      dx = deviceGrad(x.size);
      batchNormEvalForward(gpu, g, gamma.deviceArray, zeros, zeros, variance.deviceArray, dx, p);
    }
    let dgamma: DeviceArray | null = null;
    let dbeta: DeviceArray | null = null;
    if (gamma.requiresGrad || beta.requiresGrad) {
      const xhat = deviceGrad(x.size);
      batchNormEvalForward(gpu, x.deviceArray, ones, zeros, mean.deviceArray, variance.deviceArray, xhat, p);
      const unusedDx = deviceGrad(x.size);
      dgamma = deviceGrad(p.c);
      dbeta = deviceGrad(p.c);
      batchNormBackward(gpu, xhat, g, ones, zeros, ones, unusedDx, dgamma, dbeta, p);
      devicePool.release(xhat);
      devicePool.release(unusedDx);
    }
    devicePool.release(zeros);
    devicePool.release(ones);
    return [dx, deviceGradFor(gamma, dgamma), deviceGradFor(beta, dbeta)];
  });
}

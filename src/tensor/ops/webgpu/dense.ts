/** matmul and linear on the WebGPU device (the cpu ops in ../matmul.ts and ../linear.ts are the specification). */
import { addRowVector, gemm, gemmSgdUpdate, sumRows, type DeviceArray } from '../../../kernels/webgpu/index.js';
import { recordOp } from '../../autograd.js';
import { leafSgdUpdate } from '../../fusedStep.js';
import { emptyOnWebGpu, type Tensor } from '../../tensor.js';
import { deviceGrad, gpuOf } from './common.js';

export function matmulOnWebGpu(a: Tensor, b: Tensor, m: number, k: number, n: number): Tensor {
  const gpu = gpuOf(a);
  const out = emptyOnWebGpu([m, n]);
  gemm(gpu, a.deviceArray, b.deviceArray, out.deviceArray, {
    m,
    n,
    k,
    transA: false,
    transB: false,
    alpha: 1,
    beta: 0,
  });
  return recordOp<DeviceArray>('matmul', out, [a, b], (g) => {
    let da: DeviceArray | null = null;
    let db: DeviceArray | null = null;
    if (a.requiresGrad) {
      da = deviceGrad(a.size);
      gemm(gpu, g, b.deviceArray, da, { m, n: k, k: n, transA: false, transB: true, alpha: 1, beta: 0 });
    }
    if (b.requiresGrad) {
      db = deviceGrad(b.size);
      gemm(gpu, a.deviceArray, g, db, { m: k, n, k: m, transA: true, transB: false, alpha: 1, beta: 0 });
    }
    return [da, db];
  });
}

/** x [rows, in] · weightᵀ + bias; an SGD step offered for the weight is applied by gemmSgdUpdate. */
export function linearOnWebGpu(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const gpu = gpuOf(x);
  const [rows, inFeatures] = x.shape as [number, number];
  const outFeatures = weight.shape[0]!;
  const out = emptyOnWebGpu([rows, outFeatures]);
  gemm(gpu, x.deviceArray, weight.deviceArray, out.deviceArray, {
    m: rows,
    n: outFeatures,
    k: inFeatures,
    transA: false,
    transB: true,
    alpha: 1,
    beta: 0,
  });
  if (bias) addRowVector(gpu, out.deviceArray, bias.deviceArray, rows, outFeatures);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordOp<DeviceArray>('linear', out, inputs, (g) => {
    let dx: DeviceArray | null = null;
    let dw: DeviceArray | null = null;
    let db: DeviceArray | null = null;
    if (x.requiresGrad) {
      dx = deviceGrad(x.size);
      gemm(gpu, g, weight.deviceArray, dx, {
        m: rows,
        n: inFeatures,
        k: outFeatures,
        transA: false,
        transB: false,
        alpha: 1,
        beta: 0,
      });
    }
    if (weight.requiresGrad) {
      const weightGradient = { m: outFeatures, n: inFeatures, k: rows, transA: true, transB: false, alpha: 1 } as const;
      // After dx (the queue runs in program order), the last use of the weights.
      const update = leafSgdUpdate(weight);
      if (update) {
        const momentum = update.momentumBuffer ? update.momentumBuffer.deviceArray : null;
        gemmSgdUpdate(gpu, g, x.deviceArray, weight.deviceArray, momentum, weightGradient, update.sgd);
      } else {
        dw = deviceGrad(weight.size);
        gemm(gpu, g, x.deviceArray, dw, { ...weightGradient, beta: 0 });
      }
    }
    if (bias?.requiresGrad) {
      db = deviceGrad(bias.size);
      sumRows(gpu, g, db, rows, outFeatures, 0);
    }
    return bias ? [dx, dw, db] : [dx, dw];
  });
}

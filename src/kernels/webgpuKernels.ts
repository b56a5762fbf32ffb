/**
 * The WebGPU kernels (src/kernels/webgpu/) as one object bound to a runtime: `DeviceKernels` over
 * device arrays, the interface the host backends implement over host arrays, so that an op is
 * written once over it. The kernels that return a number on the host write it into a
 * one-element device array here instead (nothing leaves the device unless it is read), so they
 * are extras with their own signatures rather than members of the shared interface.
 */
import type { DeviceKernels } from './interface.js';
import * as webgpu from './webgpu/index.js';
import type { DeviceArray, WebGpu } from './webgpu/index.js';

/** A kernel of src/kernels/webgpu/ with its runtime bound: the same function less its first parameter. */
type Bound<K> = K extends (gpu: WebGpu, ...args: infer A) => infer R ? (...args: A) => R : never;

export interface WebGpuKernels extends DeviceKernels<DeviceArray, DeviceArray> {
  readonly gpu: WebGpu;
  /** Its loss is written into a one-element array. */
  readonly softmaxCrossEntropyForward: Bound<typeof webgpu.softmaxCrossEntropyForward>;
  readonly accuracy: Bound<typeof webgpu.accuracy>;
  /** x *= scalar[0], scalar a one-element array (an upstream gradient that stays on the device). */
  readonly mulByScalar: Bound<typeof webgpu.mulByScalar>;
  /** out[0] = factor · Σ x; `kernel` names the caller in errors. */
  readonly sumInto: (kernel: string, x: DeviceArray, out: DeviceArray, factor: number) => void;
}

/** `make(gpu)`, made once per runtime (a runtime released and acquired again is a new one). */
export function oncePerRuntime<T extends object>(make: (gpu: WebGpu) => T): (gpu: WebGpu) => T {
  const made = new WeakMap<WebGpu, T>();
  return (gpu) => {
    let value = made.get(gpu);
    if (!value) {
      value = make(gpu);
      made.set(gpu, value);
    }
    return value;
  };
}

/** The kernels of `gpu`. */
export const webgpuKernels = oncePerRuntime(bindKernels);

function bindKernels(gpu: WebGpu): WebGpuKernels {
  return Object.freeze({
    gpu,
    gemm: webgpu.gemm.bind(null, gpu),
    addRowVector: webgpu.addRowVector.bind(null, gpu),
    sumRows: webgpu.sumRows.bind(null, gpu),
    conv2dForward: webgpu.conv2dForward.bind(null, gpu),
    conv2dBackwardData: webgpu.conv2dBackwardData.bind(null, gpu),
    conv2dBackwardFilter: webgpu.conv2dBackwardFilter.bind(null, gpu),
    maxPool2dForward: webgpu.maxPool2dForward.bind(null, gpu),
    maxPool2dBackward: webgpu.maxPool2dBackward.bind(null, gpu),
    avgPool2dForward: webgpu.avgPool2dForward.bind(null, gpu),
    avgPool2dBackward: webgpu.avgPool2dBackward.bind(null, gpu),
    batchNormTrainForward: webgpu.batchNormTrainForward.bind(null, gpu),
    batchNormEvalForward: webgpu.batchNormEvalForward.bind(null, gpu),
    batchNormBackward: webgpu.batchNormBackward.bind(null, gpu),
    reluForward: webgpu.reluForward.bind(null, gpu),
    reluBackward: webgpu.reluBackward.bind(null, gpu),
    add: webgpu.add.bind(null, gpu),
    axpy: webgpu.axpy.bind(null, gpu),
    scale: webgpu.scale.bind(null, gpu),
    mul: webgpu.mul.bind(null, gpu),
    fill: webgpu.fill.bind(null, gpu),
    globalAvgPoolForward: webgpu.globalAvgPoolForward.bind(null, gpu),
    globalAvgPoolBackward: webgpu.globalAvgPoolBackward.bind(null, gpu),
    softmaxCrossEntropyBackward: webgpu.softmaxCrossEntropyBackward.bind(null, gpu),
    sgdUpdate: webgpu.sgdUpdate.bind(null, gpu),
    gemmSgdUpdate: webgpu.gemmSgdUpdate.bind(null, gpu),
    adamUpdate: webgpu.adamUpdate.bind(null, gpu),
    softmaxCrossEntropyForward: webgpu.softmaxCrossEntropyForward.bind(null, gpu),
    accuracy: webgpu.accuracy.bind(null, gpu),
    mulByScalar: webgpu.mulByScalar.bind(null, gpu),
    sumInto: (kernel: string, x: DeviceArray, out: DeviceArray, factor: number) =>
      webgpu.reduceInto(gpu, kernel, x, out, { squares: false, scale: factor }),
  });
}

/**
 * The WebGPU kernels: the reference kernels' semantics (src/kernels/interface.ts) on arrays that
 * live in device memory: every kernel of the interface but allocateFloat32 (`gpu.createArray`).
 * Each takes the runtime first and records its dispatches into the runtime's current batch;
 * results are read with `gpu.download` (which submits and waits).
 * Kernels whose reference returns a number (sum, sumSquares, the cross-entropy's mean loss) write
 * it into a one-element device array instead, so that nothing leaves the device unless asked.
 */
export { acquireWebGpu, probeWebGpu, releaseWebGpu, SWIFTSHADER_ICD } from './device.js';
export type { AdapterDescription, WebGpuLimits, WebGpuProbe } from './device.js';
export { DeviceArray, WebGpu } from './runtime.js';
export type { ElementType, HostArray } from './runtime.js';
export {
  add,
  addRowVector,
  axpy,
  fill,
  mul,
  mulByScalar,
  reluBackward,
  reluForward,
  scale,
  sum,
  sumSquares,
} from './elementwise.js';
export { gemm, sumRows } from './gemm.js';
export { accuracy, softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from './loss.js';
export { reduceInto } from './reduce.js';
export { adamUpdate, gemmSgdUpdate, sgdUpdate } from './optim.js';
export { conv2dBackwardData, conv2dBackwardFilter, conv2dForward } from './conv2d.js';
export {
  avgPool2dBackward,
  avgPool2dForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
} from './pool.js';
export { batchNormBackward, batchNormEvalForward, batchNormTrainForward } from './batchnorm.js';

/** Tensors, autograd and differentiable ops: the engine's public surface. */
export {
  Tensor,
  empty,
  emptyOnWebGpu,
  formatShape,
  full,
  labels,
  shapeSize,
  tensor,
  zeros,
  type DType,
  type GradHook,
  type Shape,
} from './tensor.js';
export { clearDevicePool, DEVICES, releaseTensorWebGpu, useWebGpu, type Device } from './device.js';
export { isGradEnabled, noGrad, tidy, untracked } from './scope.js';
export { backward, recordOp, type GradFn } from './autograd.js';
export {
  leafGradTarget,
  leafSgdUpdate,
  type LeafGradTarget,
  type LeafSgdUpdate,
  type LeafSgdUpdateOffer,
} from './fusedStep.js';
export { BufferPool, bufferPool } from './pool.js';
export { Rng, philox4x32, type RngState, type StreamName } from './rng.js';
export * from './ops/index.js';

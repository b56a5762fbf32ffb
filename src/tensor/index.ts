/** Tensors, autograd and differentiable ops: the engine's public surface. */
export {
  Tensor,
  backward,
  empty,
  formatShape,
  full,
  isGradEnabled,
  labels,
  leafGradTarget,
  leafSgdUpdate,
  noGrad,
  recordOp,
  shapeSize,
  tensor,
  tidy,
  untracked,
  zeros,
  type DType,
  type GradFn,
  type GradHook,
  type LeafGradTarget,
  type LeafSgdUpdate,
  type LeafSgdUpdateOffer,
  type Shape,
} from './tensor.js';
export { BufferPool, bufferPool } from './pool.js';
export { Rng, philox4x32, type RngState, type StreamName } from './rng.js';
export * from './ops/index.js';

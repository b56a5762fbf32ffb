/**
 * randlab as a library. The layers, bottom up: kernels → tensor (autograd, ops) → nn, optim,
 * checkpoint, data, models → runs, analysis → experiments, report. See README.md.
 *
 * Ops and their option types come from the tensor layer; the nn layer's option types of the
 * same names (Conv2dOptions, …) are reachable through the `nn` namespace, and the float64
 * matrix helpers through `linalg`.
 */
export * from './tensor/index.js';
export { getKernels, setKernels, referenceKernels, type Kernels, type BackendName } from './kernels/index.js';
export { nativeCoverage } from './kernels/native.js';
export * as nn from './nn/index.js';
export {
  Module,
  Linear,
  Conv2d,
  BatchNorm1d,
  BatchNorm2d,
  ReLU,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  Flatten,
  Dropout,
  Sequential,
  initializeModule,
  parameterNorms,
  rescaleToNorms,
  type StateDict,
} from './nn/index.js';
export * from './optim/index.js';
export * from './checkpoint/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './runs/index.js';
export * as linalg from './linalg/index.js';
export * from './analysis/index.js';

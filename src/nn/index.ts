export { Module, persistentTensor, checkPositiveInteger } from './module.js';
export type { StateDict, ForwardHook, OutputGradHook, LoadStateDictOptions, LoadStateDictResult } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Conv2d, pair, type Conv2dOptions, type Size2d } from './conv.js';
export { BatchNorm1d, BatchNorm2d, isBatchNorm, type BatchNorm, type BatchNormOptions } from './batchnorm.js';
export { ReLU, reluOnOutput } from './activation.js';
export { MaxPool2d, AvgPool2d, GlobalAvgPool2d, type Pool2dOptions } from './pooling.js';
export { Flatten } from './flatten.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export { Sequential } from './sequential.js';
export {
  INIT_SCHEMES,
  calculateGain,
  computeFans,
  kaimingNormal,
  kaimingUniform,
  lecunNormal,
  xavierNormal,
  xavierUniform,
  torchDefaultInit,
  initializeLayer,
  initializeModule,
  type InitScheme,
  type InitializeOptions,
  type FanMode,
  type Nonlinearity,
  type KaimingOptions,
  type XavierOptions,
  type ScaleOption,
} from './init.js';
export { parameterNorms, rescaleToNorms, type RescaleOptions } from './rescale.js';

/**
 * The TypeScript reference backend: plain, readable loops that define what every kernel computes.
 * The native backend is tested against these.
 */
import type { Kernels } from '../interface.js';
import { batchNormBackward, batchNormEvalForward, batchNormTrainForward } from './batchnorm.js';
import { conv2dBackwardData, conv2dBackwardFilter, conv2dForward } from './conv2d.js';
import { add, axpy, fill, mul, reluBackward, reluForward, scale, sum, sumSquares } from './elementwise.js';
import { addRowVector, gemm, sumRows } from './gemm.js';
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from './loss.js';
import { allocateFloat32 } from './memory.js';
import { adamUpdate, gemmSgdUpdate, sgdUpdate } from './optim.js';
import {
  avgPool2dBackward,
  avgPool2dForward,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  maxPool2dBackward,
  maxPool2dForward,
} from './pool.js';

export const referenceKernels: Kernels = Object.freeze({
  name: 'ts',
  gemm,
  addRowVector,
  sumRows,
  conv2dForward,
  conv2dBackwardData,
  conv2dBackwardFilter,
  maxPool2dForward,
  maxPool2dBackward,
  avgPool2dForward,
  avgPool2dBackward,
  batchNormTrainForward,
  batchNormEvalForward,
  batchNormBackward,
  reluForward,
  reluBackward,
  add,
  axpy,
  scale,
  mul,
  fill,
  sum,
  sumSquares,
  globalAvgPoolForward,
  globalAvgPoolBackward,
  softmaxCrossEntropyForward,
  softmaxCrossEntropyBackward,
  sgdUpdate,
  gemmSgdUpdate,
  adamUpdate,
  allocateFloat32,
});

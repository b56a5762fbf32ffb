/**
 * What the first layer learns (docs/paper.md §2): input covariance Σ_x, weight covariance Σ_w,
 * misalignment M and transfer function f, eigen-images, layer activity, probes for training, and
 * initialisation from statistics. See docs/analysis.md.
 */
export {
  describeGeometry,
  extractPatches,
  geometryFromWeightShape,
  inputDimension,
  inputVectors,
  vectorsPerExample,
  type InputGeometry,
} from './patches.js';
export {
  computeInputCovariance,
  inputCovariance,
  inputCovarianceCachePath,
  type InputCovariance,
  type InputCovarianceOptions,
} from './input-covariance.js';
export {
  alignmentJson,
  analyseAlignment,
  basisQuadratics,
  misalignment,
  requireEnoughWeightVectors,
  transferFunction,
  weightStatistics,
  type AlignmentOptions,
  type AlignmentResult,
  type BasisQuadratics,
  type Misalignment,
  type WeightStatistics,
  type WeightTensor,
} from './alignment.js';
export {
  firstRows,
  patchGridPng,
  patchPng,
  patchRgb,
  topEigenvectors,
  type GridOptions,
  type PatchShape,
} from './images.js';
export {
  ACTIVITY_PREFIX,
  activityMetrics,
  createActivityProbe,
  measureLayerActivity,
  parseActivityMetric,
  type ActivityProbeOptions,
  type LayerActivity,
} from './activity.js';
export {
  alignmentMetricNames,
  createAlignmentProbe,
  layerWeight,
  spreadIndices,
  type AlignmentProbeOptions,
  type TrainingProbe,
} from './probe.js';
export {
  alignedCovariance,
  initialiseFromCovariance,
  initialiseLayersFromData,
  interpolatedTransfer,
  layerInputCovariance,
  rescaleToNorm,
  sampleGaussianRows,
  setWeightRows,
  weightLayer,
  type LayerFromData,
  type TransferFunction,
} from './initialisers.js';

/**
 * Float64 dense linear algebra for the analysis: symmetric eigendecomposition, Haar-random
 * orthonormal bases, streaming covariance and matrix helpers. Native (native/src/linalg_*.cc) when
 * built, TypeScript otherwise. See docs/analysis.md.
 */
export { defaultLinalgBackend, nativeLinalg, type LinalgBackend, type NativeLinalg } from './backend.js';
export { symmetricEigen, type EigenOptions, type SymmetricEigen } from './eigen.js';
export { haarOrthonormalBasis, orthogonalFactor, seededHaarBasis } from './orthogonal.js';
export { CovarianceAccumulator, covarianceOfRows, type CovarianceState } from './covariance.js';
export {
  assertSymmetric,
  frobeniusNorm,
  gemm,
  identity,
  matmul,
  quadraticForms,
  toFloat64,
  transpose,
  type GemmArgs,
} from './matrix.js';

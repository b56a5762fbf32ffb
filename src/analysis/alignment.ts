/**
 * Weight covariance Σ_w, the misalignment score M and the transfer function f (docs/paper.md §2).
 *
 *   M(Σ_w; {v_i}) = Σ_i [ sqrt( (v_iᵀ Σ_w v_i) · (v_iᵀ Σ_w⁻¹ v_i) ) − 1 ]     (≥ 0; 0 iff every v_i is an eigenvector)
 *   f(σ_i) = sqrt(v_iᵀ Σ_w v_i),  (σ_i², v_i) the eigenpairs of Σ_x
 *
 * Both quadratic forms come from one eigendecomposition Σ_w = U diag(μ) Uᵀ: with B = V Uᵀ
 * (B_ij = v_i·u_j), v_iᵀΣ_w v_i = Σ_j B_ij² μ_j and v_iᵀΣ_w⁻¹v_i = Σ_j B_ij² / μ_j — no explicit inverse.
 */
import {
  CovarianceAccumulator,
  matmul,
  quadraticForms,
  seededHaarBasis,
  symmetricEigen,
  type LinalgBackend,
  type SymmetricEigen,
} from '../linalg/index.js';
import { formatShape, type Shape } from '../tensor/tensor.js';

/** One layer's weight tensor, as stored: [out, c, kh, kw] or [out, d]. */
export interface WeightTensor {
  readonly data: ArrayLike<number>;
  readonly shape: Shape;
  /** Where it came from, for messages (checkpoint path, run id). */
  readonly source?: string;
}

export interface WeightStatistics {
  readonly dim: number;
  /** Weight vectors pooled (rows of every tensor). */
  readonly count: number;
  readonly mean: Float64Array;
  /** ‖mean weight vector‖ (theory: ≈ 0). */
  readonly meanNorm: number;
  /** Mean ‖w‖ over the weight vectors, the scale to judge meanNorm against. */
  readonly averageVectorNorm: number;
  /** Sample covariance (ddof = 1), dim×dim. */
  readonly covariance: Float64Array;
}

/**
 * Σ_w of the rows of one or more weight tensors of the same layer (one row per unit, flattened in
 * (c, kh, kw) order, which is the stored order), pooling several runs' tensors.
 */
export function weightStatistics(
  tensors: readonly WeightTensor[],
  layer = 'layer',
  backend?: LinalgBackend,
): WeightStatistics {
  if (tensors.length === 0) throw new Error(`Σ_w of ${layer}: no weight tensors given`);
  const dim = rowLength(tensors[0]!, layer);
  const accumulator = new CovarianceAccumulator(dim, backend ? { backend } : {});
  let normSum = 0;
  for (const tensor of tensors) {
    const length = rowLength(tensor, layer);
    if (length !== dim) {
      throw new Error(
        `Σ_w of ${layer}: ${tensor.source ?? 'a tensor'} has shape ${formatShape(tensor.shape)} (rows of ${length}), the first has rows of ${dim}`,
      );
    }
    const rows = Float64Array.from(tensor.data);
    accumulator.addRows(rows);
    for (let r = 0; r < rows.length / dim; r++) {
      let squares = 0;
      for (let j = 0; j < dim; j++) squares += rows[r * dim + j]! ** 2;
      normSum += Math.sqrt(squares);
    }
  }
  const mean = accumulator.mean();
  const meanNorm = Math.sqrt(mean.reduce((s, x) => s + x * x, 0));
  if (accumulator.count < 2)
    throw new Error(`Σ_w of ${layer}: needs at least 2 weight vectors, got ${accumulator.count}`);
  return {
    dim,
    count: accumulator.count,
    mean,
    meanNorm,
    averageVectorNorm: normSum / accumulator.count,
    covariance: accumulator.covariance(),
  };
}

function rowLength(tensor: WeightTensor, layer: string): number {
  const { shape } = tensor;
  if (shape.length !== 2 && shape.length !== 4) {
    throw new Error(
      `Σ_w of ${layer}: ${tensor.source ?? 'weight'} has shape ${formatShape(shape)}; expected [out, c, kh, kw] or [out, d]`,
    );
  }
  const dim = shape.slice(1).reduce((a, b) => a * b, 1);
  if (tensor.data.length !== shape[0]! * dim)
    throw new Error(
      `Σ_w of ${layer}: ${tensor.source ?? 'weight'} has ${tensor.data.length} values for shape ${formatShape(shape)}`,
    );
  return dim;
}

/** Throws the paper's condition clearly: Σ_w must be invertible, so at least d+1 weight vectors. */
export function requireEnoughWeightVectors(count: number, dim: number, layer: string): void {
  if (count < dim + 1) {
    throw new Error(
      `misalignment of ${layer} needs an invertible Σ_w, so at least d+1 = ${dim + 1} weight vectors; got ${count} ` +
        `(pool more checkpoints: repeat --checkpoint or use --runs)`,
    );
  }
}

export interface BasisQuadratics {
  /** v_iᵀ Σ_w v_i per basis vector. */
  readonly forward: Float64Array;
  /** v_iᵀ Σ_w⁻¹ v_i per basis vector. */
  readonly inverse: Float64Array;
}

/** Both quadratic forms of Σ_w (given by its eigenpairs) for each row of `basis` ([count, d]). */
export function basisQuadratics(
  sigmaW: SymmetricEigen,
  basis: Float64Array,
  layer = 'layer',
  backend?: LinalgBackend,
): BasisQuadratics {
  const d = sigmaW.n;
  if (basis.length % d !== 0) throw new Error(`basis of ${basis.length} values is not whole vectors of dimension ${d}`);
  const largest = Math.max(...Array.from(sigmaW.values, Math.abs));
  const smallest = sigmaW.values[0]!;
  if (!(smallest > d * Number.EPSILON * largest)) {
    throw new Error(
      `Σ_w of ${layer} is singular (eigenvalues from ${smallest} to ${largest}): its weight vectors do not span all ${d} dimensions`,
    );
  }
  const count = basis.length / d;
  const b = matmul(basis, sigmaW.vectors, count, d, d, { transB: true, ...(backend ? { backend } : {}) });
  const forward = new Float64Array(count);
  const inverse = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let f = 0;
    let g = 0;
    for (let j = 0; j < d; j++) {
      const w = b[i * d + j]! ** 2;
      f += w * sigmaW.values[j]!;
      g += w / sigmaW.values[j]!;
    }
    forward[i] = f;
    inverse[i] = g;
  }
  return { forward, inverse };
}

export interface Misalignment {
  /** M = Σ_i [sqrt(a_i b_i) − 1]. */
  readonly total: number;
  /** M / d. */
  readonly perDimension: number;
  /** The summands, per basis vector. */
  readonly terms: Float64Array;
}

/** M of Σ_w (by its eigenpairs) against an orthonormal basis (rows). */
export function misalignment(
  sigmaW: SymmetricEigen,
  basis: Float64Array,
  layer = 'layer',
  backend?: LinalgBackend,
): Misalignment {
  return misalignmentFromQuadratics(basisQuadratics(sigmaW, basis, layer, backend), sigmaW.n);
}

function misalignmentFromQuadratics(q: BasisQuadratics, d: number): Misalignment {
  const terms = new Float64Array(q.forward.length);
  let total = 0;
  for (let i = 0; i < terms.length; i++) {
    terms[i] = Math.sqrt(q.forward[i]! * q.inverse[i]!) - 1;
    total += terms[i]!;
  }
  return { total, perDimension: total / d, terms };
}

export interface AlignmentResult {
  readonly layer: string;
  readonly d: number;
  readonly nVectors: number;
  readonly misalignmentData: number;
  readonly misalignmentRandom: number;
  readonly misalignmentDataPerDim: number;
  readonly misalignmentRandomPerDim: number;
  /** Eigenvalues λ_i of Σ_x, ascending. */
  readonly eigenvalues: Float64Array;
  /** σ_i = sqrt(λ_i) (negative rounding noise clamped to 0). */
  readonly sigma: Float64Array;
  /** f(σ_i) = sqrt(v_iᵀ Σ_w v_i), aligned with eigenvalues. */
  readonly f: Float64Array;
  readonly weightMeanNorm: number;
  readonly weightAverageNorm: number;
  /** Seed of the Haar-random basis (stream 'basis'). */
  readonly basisSeed: number;
  /** Eigenpairs of Σ_w (for its eigen-images). */
  readonly weightEigen: SymmetricEigen;
}

export interface AlignmentOptions {
  /** Seed of the random orthonormal basis (default 0). */
  readonly basisSeed?: number;
  /** A precomputed random basis (rows), e.g. one kept across the probes of a run. */
  readonly randomBasis?: Float64Array;
  readonly backend?: LinalgBackend;
}

/** The full §2 analysis of a layer's weights against its input statistics. */
export function analyseAlignment(
  layer: string,
  weights: WeightStatistics,
  input: SymmetricEigen,
  options: AlignmentOptions = {},
): AlignmentResult {
  const d = weights.dim;
  if (input.n !== d)
    throw new Error(`${layer}: weight vectors have ${d} entries but the input covariance is ${input.n}×${input.n}`);
  requireEnoughWeightVectors(weights.count, d, layer);
  const basisSeed = options.basisSeed ?? 0;
  const randomBasis = options.randomBasis ?? seededHaarBasis(d, basisSeed, options.backend);
  const sigmaW = symmetricEigen(weights.covariance, d, {
    what: `Σ_w of ${layer}`,
    ...(options.backend ? { backend: options.backend } : {}),
  });
  const dataQuadratics = basisQuadratics(sigmaW, input.vectors, layer, options.backend);
  const data = misalignmentFromQuadratics(dataQuadratics, d);
  const random = misalignment(sigmaW, randomBasis, layer, options.backend);
  return {
    layer,
    d,
    nVectors: weights.count,
    misalignmentData: data.total,
    misalignmentRandom: random.total,
    misalignmentDataPerDim: data.perDimension,
    misalignmentRandomPerDim: random.perDimension,
    eigenvalues: Float64Array.from(input.values),
    sigma: Float64Array.from(input.values, (lambda) => Math.sqrt(Math.max(lambda, 0))),
    f: Float64Array.from(dataQuadratics.forward, (q) => Math.sqrt(Math.max(q, 0))),
    weightMeanNorm: weights.meanNorm,
    weightAverageNorm: weights.averageVectorNorm,
    basisSeed,
    weightEigen: sigmaW,
  };
}

/** f(σ_i) = sqrt(v_iᵀ Σ_w v_i) alone (needs no invertible Σ_w, so any number of weight vectors). */
export function transferFunction(
  sigmaW: Float64Array,
  input: SymmetricEigen,
  backend?: LinalgBackend,
): { sigma: Float64Array; f: Float64Array } {
  const quadratic = quadraticForms(sigmaW, input.vectors, input.n, backend);
  return {
    sigma: Float64Array.from(input.values, (lambda) => Math.sqrt(Math.max(lambda, 0))),
    f: Float64Array.from(quadratic, (q) => Math.sqrt(Math.max(q, 0))),
  };
}

/** The JSON the CLI prints (`randlab analyze alignment --json`). */
export function alignmentJson(result: AlignmentResult): Record<string, unknown> {
  return {
    layer: result.layer,
    d: result.d,
    n_vectors: result.nVectors,
    misalignment_data: result.misalignmentData,
    misalignment_random: result.misalignmentRandom,
    misalignment_data_per_dim: result.misalignmentDataPerDim,
    misalignment_random_per_dim: result.misalignmentRandomPerDim,
    eigenvalues: Array.from(result.eigenvalues),
    sigma: Array.from(result.sigma),
    f: Array.from(result.f),
    weight_mean_norm: result.weightMeanNorm,
    weight_average_norm: result.weightAverageNorm,
    basis_seed: result.basisSeed,
  };
}

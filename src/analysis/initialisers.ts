/**
 * Initialisation from statistics (docs/paper.md §2 "Covariance initialisation", §3 Fig. 5, Sec. 2.5):
 * - fresh weight vectors drawn i.i.d. from N(0, Σ) with Σ = Σ_w of a pre-trained layer;
 * - or with Σ = Σ_i f(σ_i)² v_i v_iᵀ built from the input statistics (σ_i², v_i) and a given f;
 * - for deeper layers, the "input statistics" are those of the activations that the already
 *   (re-)initialised layers below produce, taken on data batches, layer by layer;
 * - and rescaling a tensor to a reference norm (e.g. its norm at initialisation).
 *
 * Sampling uses the eigen-factor Σ = U Λ Uᵀ, w = U Λ^½ z, which also handles a singular Σ (Cholesky
 * would fail there): Σ_i f(σ_i)² v_i v_iᵀ is singular whenever f vanishes somewhere.
 */
import { getKernels } from '../kernels/index.js';
import { CovarianceAccumulator, symmetricEigen, type LinalgBackend, type SymmetricEigen } from '../linalg/index.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { formatShape, noGrad, tidy, type Tensor } from '../tensor/index.js';
import type { Rng } from '../tensor/rng.js';
import { extractPatches, type InputGeometry } from './patches.js';

/** `count` vectors drawn i.i.d. from N(0, Σ), as rows of a [count, dim] matrix. */
export function sampleGaussianRows(
  covariance: Float64Array,
  dim: number,
  count: number,
  rng: Rng,
  what = 'Σ',
  backend?: LinalgBackend,
): Float64Array {
  const eigen = symmetricEigen(covariance, dim, { what, ...(backend ? { backend } : {}) });
  const smallest = eigen.values[0] ?? 0;
  const largest = eigen.values[dim - 1] ?? 0;
  if (smallest < -1e-8 * Math.max(largest, 0))
    throw new Error(`${what} is not positive semi-definite: smallest eigenvalue ${smallest} (largest ${largest})`);
  const roots = Float64Array.from(eigen.values, (lambda) => Math.sqrt(Math.max(lambda, 0)));
  const rows = new Float64Array(count * dim);
  const z = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    rng.fillNormal(z);
    const row = rows.subarray(r * dim, (r + 1) * dim);
    for (let j = 0; j < dim; j++) {
      const coefficient = roots[j]! * z[j]!;
      if (coefficient === 0) continue;
      const u = eigen.vectors.subarray(j * dim, (j + 1) * dim);
      for (let k = 0; k < dim; k++) row[k]! += coefficient * u[k]!;
    }
  }
  return rows;
}

/** A transfer function: f at σ_i (the square root of the i-th eigenvalue, ascending order). */
export type TransferFunction = (sigma: number, index: number) => number;

/** Σ = Σ_i f(σ_i)² v_i v_iᵀ over the eigenpairs (σ_i², v_i) of the input covariance. */
export function alignedCovariance(input: SymmetricEigen, f: TransferFunction): Float64Array {
  const d = input.n;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const sigma = Math.sqrt(Math.max(input.values[i]!, 0));
    const value = f(sigma, i);
    if (!Number.isFinite(value)) throw new Error(`transfer function gave ${value} at σ = ${sigma} (index ${i})`);
    const weight = value * value;
    if (weight === 0) continue;
    const v = input.vectors.subarray(i * d, (i + 1) * d);
    for (let a = 0; a < d; a++) {
      const va = weight * v[a]!;
      for (let b = 0; b < d; b++) out[a * d + b]! += va * v[b]!;
    }
  }
  return out;
}

/**
 * A transfer function from measured points (σ_i, f_i), e.g. a pre-trained layer's f: linear
 * interpolation in log σ, constant beyond the measured range.
 */
export function interpolatedTransfer(sigma: ArrayLike<number>, f: ArrayLike<number>): TransferFunction {
  if (sigma.length !== f.length || sigma.length === 0)
    throw new Error(`interpolatedTransfer: ${sigma.length} σ values and ${f.length} f values`);
  const points = Array.from({ length: sigma.length }, (_, i) => ({
    x: Math.log(Math.max(sigma[i]!, Number.MIN_VALUE)),
    y: f[i]!,
  })).sort((a, b) => a.x - b.x);
  return (s: number) => {
    const x = Math.log(Math.max(s, Number.MIN_VALUE));
    if (x <= points[0]!.x) return points[0]!.y;
    const last = points[points.length - 1]!;
    if (x >= last.x) return last.y;
    let hi = 1;
    while (points[hi]!.x < x) hi++;
    const a = points[hi - 1]!;
    const b = points[hi]!;
    return b.x === a.x ? b.y : a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x);
  };
}

/** Overwrites a weight tensor ([out, …]) with the rows of a [out, prod(…)] matrix. */
export function setWeightRows(weight: Tensor, rows: Float64Array): void {
  if (rows.length !== weight.size)
    throw new Error(`${weight.describe()}: ${rows.length} values given for ${weight.size} weights`);
  weight.data.set(rows);
}

/** Fresh weight vectors for `weight` drawn i.i.d. from N(0, covariance). */
export function initialiseFromCovariance(
  weight: Tensor,
  covariance: Float64Array,
  rng: Rng,
  backend?: LinalgBackend,
): void {
  const out = weight.shape[0]!;
  const dim = weight.size / out;
  if (covariance.length !== dim * dim)
    throw new Error(
      `${weight.describe()}: rows of ${dim}, covariance of ${covariance.length} values (expected ${dim}×${dim})`,
    );
  setWeightRows(weight, sampleGaussianRows(covariance, dim, out, rng, `covariance for ${weight.describe()}`, backend));
}

/** Multiplies a tensor so its ℓ2 norm becomes `referenceNorm`; returns the factor. */
export function rescaleToNorm(tensor: Tensor, referenceNorm: number): number {
  if (!(referenceNorm >= 0) || !Number.isFinite(referenceNorm))
    throw new Error(`${tensor.describe()}: reference norm ${referenceNorm} is not a finite number ≥ 0`);
  const kernels = getKernels();
  const norm = Math.sqrt(kernels.sumSquares(tensor.data));
  if (norm === 0) {
    if (referenceNorm === 0) return 1;
    throw new Error(`${tensor.describe()} is all zeros; no factor gives it norm ${referenceNorm}`);
  }
  const factor = referenceNorm / norm;
  kernels.scale(tensor.data, factor, tensor.data);
  return factor;
}

/** The layer at `path`, which must be Linear or Conv2d, with the geometry of its input vectors. */
export function weightLayer(model: Module, path: string): { layer: Linear | Conv2d; geometry: InputGeometry } {
  const layer = model.getSubmodule(path);
  if (layer instanceof Conv2d)
    return { layer, geometry: { kind: 'patches', channels: layer.inChannels, kernel: layer.kernelSize } };
  if (layer instanceof Linear) return { layer, geometry: { kind: 'flat' } };
  throw new Error(`'${path}' is ${layer.describe()}; covariance initialisation needs a Linear or Conv2d layer`);
}

/**
 * Covariance of the inputs that layer `path` receives when the model runs on `batches` (eval mode):
 * for a conv layer, every kh×kw patch (stride 1, valid, the paper's definition; the layer's own
 * padding is not added) of its input activations; for a linear layer, its input rows.
 */
export function layerInputCovariance(
  model: Module,
  path: string,
  batches: Iterable<Tensor>,
  backend?: LinalgBackend,
): { dim: number; count: number; covariance: Float64Array; eigen: SymmetricEigen } {
  const { layer, geometry } = weightLayer(model, path);
  let accumulator: CovarianceAccumulator | null = null;
  const remove = layer.registerForwardHook((_m, input) => {
    const shape = input.shape;
    const values =
      geometry.kind === 'flat'
        ? input.data
        : extractPatches(input.data, shape[0]!, [shape[1]!, shape[2]!, shape[3]!], geometry.kernel);
    const dim = geometry.kind === 'flat' ? input.size / shape[0]! : shape[1]! * geometry.kernel[0] * geometry.kernel[1];
    accumulator ??= new CovarianceAccumulator(dim, backend ? { backend } : {});
    accumulator.addRows(values);
  });
  const wasTraining = model.training;
  model.eval();
  try {
    for (const batch of batches) tidy(() => noGrad(() => void model.call(batch)));
  } finally {
    remove();
    model.train(wasTraining);
  }
  const result = accumulator as CovarianceAccumulator | null;
  if (!result || result.count < 2)
    throw new Error(
      `layerInputCovariance: '${path}' saw ${result?.count ?? 0} input vectors; give batches that reach it`,
    );
  const covariance = result.covariance();
  const eigen = symmetricEigen(covariance, result.dim, {
    what: `input covariance of '${path}'`,
    ...(backend ? { backend } : {}),
  });
  return { dim: result.dim, count: result.count, covariance, eigen };
}

export interface LayerFromData {
  /** Path of a Linear or Conv2d layer. */
  readonly layer: string;
  /** The transfer function to impose for this layer's inputs. */
  readonly f: TransferFunction;
}

/**
 * Sec. 2.5: initialise layers in order (lowest first) from the statistics of their inputs, each
 * layer's inputs produced by the layers below as already re-initialised. Returns each layer's
 * input eigenvalues, for the record.
 */
export function initialiseLayersFromData(
  model: Module,
  layers: readonly LayerFromData[],
  batches: () => Iterable<Tensor>,
  rng: Rng,
  backend?: LinalgBackend,
): Map<string, Float64Array> {
  const spectra = new Map<string, Float64Array>();
  for (const { layer: path, f } of layers) {
    const { layer } = weightLayer(model, path);
    const input = layerInputCovariance(model, path, batches(), backend);
    const rowLength = layer.weight.size / layer.weight.shape[0]!;
    if (rowLength !== input.dim)
      throw new Error(
        `'${path}': weight ${formatShape(layer.weight.shape)} has rows of ${rowLength}, its inputs have ${input.dim} values`,
      );
    initialiseFromCovariance(
      layer.weight,
      alignedCovariance(input.eigen, f),
      rng.fork(`covariance-init/${path}`),
      backend,
    );
    spectra.set(path, input.eigen.values);
  }
  return spectra;
}

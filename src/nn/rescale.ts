/**
 * The paper's rescaling after pre-training (docs/paper.md §3): every weight tensor is scaled back
 * to the ℓ2 norm it had at initialisation, so that a transfer speed-up cannot come from the
 * weights' scale alone. Biases are rescaled too by default.
 */
import { getKernels } from '../kernels/index.js';
import type { Module } from './module.js';

/** ℓ2 norm of every parameter, by state_dict key (take it right after initialisation). */
export function parameterNorms(module: Module): Map<string, number> {
  const kernels = getKernels();
  return new Map(module.namedParameters().map(([key, p]) => [key, Math.sqrt(kernels.sumSquares(p.data))]));
}

export interface RescaleOptions {
  /** Rescale tensors named `…bias` too (default true, the paper's setting). */
  readonly includeBiases?: boolean;
}

function isBias(key: string): boolean {
  return key === 'bias' || key.endsWith('.bias');
}

/**
 * Multiply each parameter by referenceNorm / currentNorm. Returns the factor applied to each
 * rescaled parameter. Throws, before changing anything, when a reference is missing or a
 * parameter is zero but its reference is not (no factor can restore it).
 */
export function rescaleToNorms(
  module: Module,
  referenceNorms: ReadonlyMap<string, number>,
  options: RescaleOptions = {},
): Map<string, number> {
  const includeBiases = options.includeBiases ?? true;
  const current = parameterNorms(module);
  const factors = new Map<string, number>();
  const problems: string[] = [];
  for (const [key, norm] of current) {
    if (!includeBiases && isBias(key)) continue;
    const reference = referenceNorms.get(key);
    if (reference === undefined) problems.push(`'${key}' has no reference norm`);
    else if (!(reference >= 0) || !Number.isFinite(reference))
      problems.push(`'${key}': reference norm ${reference} is not a finite number ≥ 0`);
    else if (norm === 0 && reference > 0) problems.push(`'${key}' is all zeros but its reference norm is ${reference}`);
    else if (!Number.isFinite(norm)) problems.push(`'${key}' has a non-finite norm (${norm})`);
    else factors.set(key, norm === 0 ? 1 : reference / norm);
  }
  if (problems.length > 0) throw new Error(`rescaleToNorms: ${problems.join('; ')}`);
  const kernels = getKernels();
  for (const [key, p] of module.namedParameters()) {
    const factor = factors.get(key);
    if (factor !== undefined && factor !== 1) kernels.scale(p.data, factor, p.data);
  }
  return factors;
}

/**
 * Measurements during training. The training loop (src/runs/trainer.ts, its `Probe`) calls
 * `onStep(step, model)` at step 0 and every `every` steps (and at the last step), under `noGrad`, and
 * stores each returned `{name: value}` in the run's metrics at that step.
 *
 * `createAlignmentProbe` records, for one layer, M against the data eigenbasis and against a fixed
 * Haar-random basis (absolute and per dimension), f(σ_i) at chosen eigen-indices, and the mean-weight
 * norm. Σ_x and its eigenbasis are computed once (and cached on disk by `inputCovariance`); the random
 * basis once per probe.
 */
import type { Module } from '../nn/module.js';
import type { SymmetricEigen } from '../linalg/index.js';
import { seededHaarBasis } from '../linalg/index.js';
import { analyseAlignment, requireEnoughWeightVectors, weightStatistics, type AlignmentResult } from './alignment.js';

/** What the training loop calls; structurally the trainer's `Probe`. */
export interface TrainingProbe {
  readonly every: number;
  onStep(step: number, model: Module): Record<string, number>;
}

export function checkEvery(every: number): void {
  if (!Number.isSafeInteger(every) || every < 1)
    throw new Error(`a probe's 'every' must be a positive integer number of steps, got ${every}`);
}

export interface AlignmentProbeOptions {
  /** state_dict prefix of the layer; its weight is `<layer>.weight`. */
  readonly layer: string;
  /** Eigenpairs of Σ_x for this layer's geometry (`inputCovariance(...).eigen`). */
  readonly input: SymmetricEigen;
  readonly every: number;
  /** Seed of the random basis (stream 'basis'; default 0). */
  readonly basisSeed?: number;
  /** Record f at this many eigen-indices, evenly spread over the spectrum (default 64; all when d ≤ it). */
  readonly fValues?: number;
  /** When given, checked now: the layer exists, matches Σ_x and has at least d+1 units. */
  readonly model?: Module;
}

/** Metric names of the alignment probe for a layer. */
export function alignmentMetricNames(layer: string) {
  const prefix = `alignment/${layer}`;
  return {
    misalignmentData: `${prefix}/misalignment_data`,
    misalignmentRandom: `${prefix}/misalignment_random`,
    misalignmentDataPerDim: `${prefix}/misalignment_data_per_dim`,
    misalignmentRandomPerDim: `${prefix}/misalignment_random_per_dim`,
    weightMeanNorm: `${prefix}/weight_mean_norm`,
    /** f at eigen-index i (ascending eigenvalue order). */
    f: (index: number) => `${prefix}/f/${index}`,
    /** σ_i at eigen-index i (recorded with the first measurement). */
    sigma: (index: number) => `${prefix}/sigma/${index}`,
  };
}

/** Evenly spread eigen-indices, always including the first and last. */
export function spreadIndices(d: number, count: number): number[] {
  if (count >= d) return Array.from({ length: d }, (_, i) => i);
  if (count <= 1) return [d - 1];
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * (d - 1)) / (count - 1))))];
}

/** The layer's weight and its shape, from a model's state_dict. */
export function layerWeight(model: Module, layer: string): { data: Float32Array; shape: readonly number[] } {
  const key = `${layer}.weight`;
  const weight = model.stateDict().get(key);
  if (!weight) {
    const keys = [...model.stateDict().keys()].filter((k) => k.endsWith('.weight'));
    throw new Error(`the model has no '${key}' (weights: ${keys.join(', ')})`);
  }
  return { data: weight.data, shape: weight.shape };
}

export function createAlignmentProbe(options: AlignmentProbeOptions): TrainingProbe {
  checkEvery(options.every);
  const { layer, input } = options;
  const d = input.n;
  if (options.model) {
    const { shape } = layerWeight(options.model, layer);
    const rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
    if (rowLength !== d) throw new Error(`alignment probe: ${layer}.weight has rows of ${rowLength}, Σ_x is ${d}×${d}`);
    requireEnoughWeightVectors(shape[0]!, d, layer);
  }
  const basisSeed = options.basisSeed ?? 0;
  const randomBasis = seededHaarBasis(d, basisSeed);
  const indices = spreadIndices(d, options.fValues ?? 64);
  const names = alignmentMetricNames(layer);
  let first = true;
  return {
    every: options.every,
    onStep(_step: number, model: Module): Record<string, number> {
      const weight = layerWeight(model, layer);
      const result: AlignmentResult = analyseAlignment(
        layer,
        weightStatistics([{ ...weight, source: `${layer}.weight` }], layer),
        input,
        { basisSeed, randomBasis },
      );
      const metrics: Record<string, number> = {
        [names.misalignmentData]: result.misalignmentData,
        [names.misalignmentRandom]: result.misalignmentRandom,
        [names.misalignmentDataPerDim]: result.misalignmentDataPerDim,
        [names.misalignmentRandomPerDim]: result.misalignmentRandomPerDim,
        [names.weightMeanNorm]: result.weightMeanNorm,
      };
      for (const i of indices) {
        metrics[names.f(i)] = result.f[i]!;
        if (first) metrics[names.sigma(i)] = result.sigma[i]!;
      }
      first = false;
      return metrics;
    },
  };
}

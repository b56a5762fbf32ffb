/**
 * Is the first layer of a network pre-trained on random labels aligned with the data (docs/paper.md §2,
 * §3 Fig. 2)? The §2 analysis of each pre-training run's final first layer: M of its Σ_w against the
 * eigenbasis of the data's patch covariance and against a Haar-random basis, as a compute run after it, and
 * the claim that the first is far below the second. It is the mechanism the transfer recipes test, and a
 * claim that short pre-trainings already decide.
 */
import { meanBeyond, operand, type Rule } from '../../report/rules.js';
import type { Measurement, Table } from '../../report/types.js';
import type { RunStore } from '../../runs/store.js';
import { readResult } from '../compute.js';
import type { RunSpec } from '../recipe.js';
import { alignmentSpec, type AlignmentRecord } from './alignment.js';

/** The measurement: M(data basis) / M(random basis) of the final first layer, per seed. */
export const ALIGNMENT_RATIO = 'alignment-ratio';

/** "Far below": M against the data basis at most half of M against a random one. At init both are equal
 *  in expectation (an isotropic init has no preferred basis), so the ratio starts near 1. */
const FAR_BELOW = 0.5;

/** The alignment compute run after a pre-training run, on the data it trained on. */
export function upstreamAlignmentSpec(upstream: RunSpec, weightKey = 'conv1.weight'): RunSpec {
  if (!upstream.config) throw new Error(`run ${upstream.id} (${upstream.condition}) is not a training run`);
  return alignmentSpec({ train: upstream, config: upstream.config, weightKey });
}

/** Per-seed ratios of the finished alignment runs of `condition`'s pre-trainings, and their table. */
export function upstreamAlignmentAnalysis(
  store: RunStore,
  plan: readonly RunSpec[],
  condition: string,
): { measurements: Measurement[]; tables: Table[] } {
  const rows: (string | number)[][] = [];
  const measurements: Measurement[] = [];
  for (const spec of plan.filter((s) => s.condition === `${condition}/alignment`)) {
    const record = readResult<AlignmentRecord>(store, spec.id);
    if (record?.misalignmentData === undefined || record.misalignmentRandom === undefined) continue;
    const ratio = record.misalignmentData / record.misalignmentRandom;
    measurements.push({ condition, seed: spec.seed, metric: ALIGNMENT_RATIO, value: ratio });
    rows.push([spec.seed, record.misalignmentDataPerDim!, record.misalignmentRandomPerDim!, ratio]);
  }
  if (rows.length === 0) return { measurements, tables: [] };
  const table: Table = {
    id: `${condition}-alignment`,
    title: `First-layer alignment after pre-training (${condition})`,
    caption:
      'M/d of the final first layer’s Σ_w against the eigenbasis of the data’s patch covariance and against a ' +
      'Haar-random basis (seeded by the run’s seed), and their ratio; an isotropic layer has a ratio near 1.',
    columns: ['seed', 'M/d data basis', 'M/d random basis', 'ratio'],
    rows,
  };
  return { measurements, tables: [table] };
}

/** The claim's rule: the ratio's 95% interval lies below ½ (reproduced) or above 1 (not reproduced). */
export function alignedRule(condition: string): Rule {
  return meanBeyond(operand(condition, ALIGNMENT_RATIO), 'below', FAR_BELOW, 1);
}

/**
 * docs/paper.md §3 Fig. 3: WRN-28-4 with a 5×5 first layer trained on random labels; first-layer
 * filters pooled over runs. Shows (a) sample filters, (b) top eigenvectors of the pooled Σ_w and
 * (c) top eigenvectors of the 5×5×3 patch covariance, as RGB images; and measures, per run, how much
 * closer to diagonal Σ_w is in the data eigenbasis than in a Haar-random basis.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstRows, patchPng, topEigenvectors, weightStatistics } from '../../analysis/index.js';
import { matmul, seededHaarBasis, symmetricEigen } from '../../linalg/index.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { RunConfigInput } from '../../runs/config.js';
import type { Figure, Measurement, Table } from '../../report/types.js';
import { computeSpec, readResult } from '../compute.js';
import { scaleSettings, type PresetTable, type Recipe, type RunSpec } from '../recipe.js';
import { readWeight, trainSpec } from '../train.js';
import {
  baseRunConfig,
  cifarAvailability,
  cifarData,
  cifarLabels,
  CIFAR10_CLASSES,
  CIFAR10_IMAGES,
  firstLayerInputCovariance,
  learnsCheck,
  runData,
} from './common.js';
import { PAPER } from './paper-defaults.js';
import { operand, pairedDirection } from '../../report/rules.js';

export interface Fig3Settings {
  readonly source: 'train' | 'test';
  readonly limit: number | null;
  readonly widths: readonly number[];
  readonly firstKernel: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly images: number;
}

const paper: PresetTable<Fig3Settings> = {
  source: { value: 'train', why: 'CIFAR-10 training set' },
  limit: { value: null, why: 'all 50 000 images' },
  widths: { value: PAPER.fig3.widths, why: 'WRN-28-4: stem 16, groups 64, 128, 256' },
  firstKernel: { value: PAPER.fig3.firstKernel, why: 'docs/paper.md Fig. 3: a 5×5 first layer' },
  epochs: { value: 20, why: '[default] long enough for the first layer to align' },
  batchSize: { value: 128, why: '[default] WRN’s usual batch' },
  lr: { value: PAPER.lr, why: '[default] docs/paper.md §3 optimiser' },
  images: { value: 12, why: 'eigenvectors and filters shown' },
};

const cpu: PresetTable<Fig3Settings> = {
  ...paper,
  limit: { value: 5_000, why: 'WRN-28-4 is the most expensive network here; 5k images × 8 epochs per run (320 steps)' },
  widths: {
    value: [16, 16, 32, 64],
    why: 'quarter-width groups (the 16-filter 5×5 stem, the studied layer, is the paper’s), so the 5 pooled runs took 17 min of CPU time (15.4 min wall) on 2 cores',
  },
  epochs: { value: 8, why: 'a short training' },
};

const smoke: PresetTable<Fig3Settings> = {
  ...paper,
  source: { value: 'test', why: 'CIFAR-10’s test file loads 5× faster' },
  limit: { value: 100, why: 'a hundred images: few enough to memorise random labels in a few dozen steps' },
  widths: { value: [16, 8, 8, 8], why: 'the paper’s stem, tiny groups: a WRN-28 still runs end to end in seconds' },
  epochs: { value: 12, why: 'enough steps to memorise part of the random labels' },
  batchSize: { value: 25, why: 'four steps per epoch' },
  lr: { value: 0.05, why: 'a larger step so training visibly progresses' },
};

const KEY = 'conv1.weight';

/** Share of ‖C‖²_F off the diagonal of C = B Σ Bᵀ: 0 iff the rows of B are eigenvectors of Σ. */
export function offDiagonalShare(sigma: Float64Array, basis: Float64Array, d: number): number {
  const projected = matmul(matmul(basis, sigma, d, d, d), basis, d, d, d, { transB: true });
  let off = 0;
  let total = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const square = projected[i * d + j]! ** 2;
      total += square;
      if (i !== j) off += square;
    }
  }
  return total === 0 ? 0 : off / total;
}

interface PooledRecord {
  readonly runs: number;
  readonly vectors: number;
  readonly d: number;
  readonly meanNorm: number;
  readonly averageNorm: number;
  /** |cos| between the top Σ_w eigenvectors (rows) and the top Σ_x eigenvectors (columns). */
  readonly cosines: number[][];
}

function dataConfig(s: Fig3Settings, seed: number): RunConfigInput {
  return {
    ...baseRunConfig({
      seed,
      model: { name: 'wrn-28-4', widths: [...s.widths], firstKernel: s.firstKernel },
      lr: s.lr,
      evalEvery: Math.ceil((s.limit ?? CIFAR10_IMAGES[s.source]) / s.batchSize),
    }),
    data: cifarData(s.source, s.limit, cifarLabels('random', seed)),
    training: { batchSize: s.batchSize, epochs: s.epochs },
  };
}

export const fig3Eigenimages: Recipe<Fig3Settings> = {
  name: 'fig3-eigenimages',
  title: 'Fig. 3: eigenvectors of the first layer as images (WRN-28-4, 5×5, random labels)',
  paperReference: '§3 Fig. 3',
  description:
    'WRN-28-4 with a 5×5 first layer trained on random labels, one run per seed; the first-layer filters of all runs are pooled. ' +
    'Sample filters, the top eigenvectors of the pooled Σ_w and the top eigenvectors of the 5×5×3 patch covariance Σ_x are drawn as RGB images.',
  defaultSeeds: { smoke: 2, cpu: 12, paper: 10 },
  seedsWhy: {
    cpu: 'sized from the last cpu run (5 seeds): the off-diagonal share, data minus random basis, −0.0030 with sd 0.0033, needs 12 seeds for 80% power: about 40 min at 3.4 min a seed',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    const plan: RunSpec[] = [];
    const trains: RunSpec[] = [];
    for (const seed of seeds) {
      const config = dataConfig(s, seed);
      const train = trainSpec({ condition: 'random-labels', seed, config });
      const offDiagonal = computeSpec<{ data: number; random: number }>({
        condition: 'random-labels/offdiag',
        seed,
        dependsOn: [train.id],
        settings: { analysis: 'off-diagonal share', basisSeed: seed },
        async compute(context) {
          const weight = readWeight(context.store, train.id, KEY);
          const stats = weightStatistics([{ data: weight.data, shape: weight.shape }], KEY);
          const input = firstLayerInputCovariance(await runData(config, context), weight.shape);
          const d = stats.dim;
          return {
            data: offDiagonalShare(stats.covariance, input.eigen.vectors, d),
            random: offDiagonalShare(stats.covariance, seededHaarBasis(d, seed), d),
          };
        },
      });
      trains.push(train);
      plan.push(train, offDiagonal);
    }
    const config = dataConfig(s, seeds[0]!);
    plan.push(
      computeSpec<PooledRecord>({
        condition: 'pooled',
        seed: seeds[0]!,
        dependsOn: trains.map((t) => t.id),
        settings: { analysis: 'pooled eigen-images', images: s.images },
        async compute(context, dir) {
          const weights = trains.map((t) => readWeight(context.store, t.id, KEY));
          const shape = weights[0]!.shape;
          const stats = weightStatistics(
            weights.map((w, i) => ({ data: w.data, shape: w.shape, source: trains[i]!.id })),
            KEY,
          );
          const d = stats.dim;
          const sigmaW = symmetricEigen(stats.covariance, d, { what: 'pooled Σ_w' });
          const input = firstLayerInputCovariance(await runData(config, context), shape);
          const patch = { channels: shape[1]!, height: shape[2]!, width: shape[3]! };
          const topW = topEigenvectors(sigmaW, s.images);
          const topX = topEigenvectors(input.eigen, s.images);
          const panels: Record<string, Float64Array[]> = {
            filters: firstRows(weights[0]!.data, d, s.images),
            'sigma-w': topW,
            'sigma-x': topX,
          };
          for (const [name, vectors] of Object.entries(panels)) {
            vectors.forEach((vector, i) => writeFileAtomic(join(dir, `${name}-${i}.png`), [patchPng(vector, patch)]));
          }
          const cosines = topW
            .slice(0, 6)
            .map((u) => topX.slice(0, 6).map((v) => Math.abs(u.reduce((sum, x, j) => sum + x * v[j]!, 0))));
          return {
            runs: trains.length,
            vectors: stats.count,
            d,
            meanNorm: stats.meanNorm,
            averageNorm: stats.averageVectorNorm,
            cosines,
          };
        },
      }),
    );
    return plan;
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    const measurements: Measurement[] = [];
    const rows: (string | number)[][] = [];
    for (const spec of plan.filter((p) => p.condition === 'random-labels/offdiag')) {
      const result = readResult<{ data: number; random: number }>(context.store, spec.id);
      if (!result) continue;
      measurements.push(
        { condition: 'random-labels', seed: spec.seed, metric: 'offdiag-data', value: result.data },
        { condition: 'random-labels', seed: spec.seed, metric: 'offdiag-random', value: result.random },
      );
      rows.push([spec.seed, result.data, result.random]);
    }
    const figures: Figure[] = [];
    const tables: Table[] = [
      {
        id: 'offdiag',
        title: 'How diagonal Σ_w is in each basis (per run)',
        caption:
          'Off-diagonal share of ‖BΣ_wBᵀ‖²_F for B the data eigenbasis and a Haar-random basis (seeded by the run’s seed): 0 when the basis vectors are eigenvectors of Σ_w.',
        columns: ['seed', 'data basis', 'random basis'],
        rows,
      },
    ];
    const pooledSpec = plan.find((p) => p.condition === 'pooled')!;
    const pooled = readResult<PooledRecord>(context.store, pooledSpec.id);
    if (pooled) {
      const dir = context.store.runDir(pooledSpec.id);
      const panels = (name: string, label: (i: number) => string) =>
        Array.from({ length: s.images }, (_, i) => join(dir, `${name}-${i}.png`))
          .map((path, i) => ({ path, label: label(i) }))
          .filter(({ path }) => existsSync(path))
          .map(({ path, label: text }) => ({ label: text, png: new Uint8Array(readFileSync(path)) }));
      figures.push(
        {
          kind: 'images',
          id: 'filters',
          title: '(a) Sample first-layer filters (seed 0)',
          caption:
            'Each 5×5×3 filter drawn as an RGB image, contrast-normalised on its own range. Paper: they look like noise.',
          panels: panels('filters', (i) => `filter ${i + 1}`),
        },
        {
          kind: 'images',
          id: 'sigma-w',
          title: `(b) Top eigenvectors of Σ_w pooled over ${pooled.runs} runs (${pooled.vectors} filters)`,
          caption: 'Largest eigenvalue first. Paper: (b) resembles (c).',
          panels: panels('sigma-w', (i) => `u${i + 1}`),
        },
        {
          kind: 'images',
          id: 'sigma-x',
          title: '(c) Top eigenvectors of the 5×5×3 patch covariance Σ_x',
          caption: 'Largest eigenvalue first.',
          panels: panels('sigma-x', (i) => `v${i + 1}`),
        },
      );
      tables.push({
        id: 'cosines',
        title: '|cos| between top eigenvectors of pooled Σ_w (rows) and of Σ_x (columns)',
        caption: `d = ${pooled.d}; a random unit vector has |cos| ≈ ${(1 / Math.sqrt(pooled.d)).toFixed(3)} with a fixed one. ‖mean filter‖ = ${pooled.meanNorm.toPrecision(3)}, mean ‖filter‖ = ${pooled.averageNorm.toPrecision(3)}.`,
        columns: ['', ...pooled.cosines[0]!.map((_, j) => `v${j + 1}`)],
        rows: pooled.cosines.map((row, i) => [`u${i + 1}`, ...row]),
      });
    }
    const trains = plan.filter((p) => p.kind === 'train');
    const checks = [learnsCheck(context.store, trains, CIFAR10_CLASSES, 0.02, 'WRN-28-4 on random labels')];
    return { measurements, figures, tables, checks, notes: [] };
  },
  claims: [
    {
      id: 'fig3.eigenvectors-match',
      source: '§3 Fig. 3',
      statement:
        'Top eigenvectors of Σ_w resemble the top eigenvectors of the patch covariance. Measured as: Σ_w is closer to diagonal in the data eigenbasis than in a Haar-random basis (offdiag = off-diagonal share of ‖VᵀΣ_wV‖²_F).',
      paperValue: '(b) resembles (c)',
      rule: pairedDirection(
        operand('random-labels', 'offdiag-data'),
        operand('random-labels', 'offdiag-random'),
        'less',
      ),
    },
  ],
};

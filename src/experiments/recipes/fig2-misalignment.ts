/**
 * docs/paper.md §3 Fig. 2: the misalignment M of the 2-layer CNN's first layer against the data
 * eigenbasis and against a Haar-random basis, during training on real and on random labels.
 */
import { alignmentMetricNames, createAlignmentProbe } from '../../analysis/index.js';
import type { RunConfigInput } from '../../runs/config.js';
import { bandChart } from '../../report/charts.js';
import { mean } from '../../report/stats.js';
import type { Measurement, Table } from '../../report/types.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { isFinished, readCurve, trainSpec, type ProbeFactory } from '../train.js';
import {
  baseRunConfig,
  cifarAvailability,
  cifarData,
  cifarLabels,
  CIFAR10_CLASSES,
  firstLayerInputCovariance,
  learnsCheck,
  runData,
  runsOf,
} from './common.js';
import { PAPER } from './paper-defaults.js';
import { meanBeyond, operand } from '../../report/rules.js';

export interface Fig2Settings {
  readonly source: 'train' | 'test';
  /** Training examples (the first n of the source split); null for all. */
  readonly limit: number | null;
  readonly widths: readonly [number, number];
  readonly initScale: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly probeEvery: number;
  readonly evalEvery: number;
  readonly trainEvalLimit: number | null;
}

const paper: PresetTable<Fig2Settings> = {
  source: { value: 'train', why: 'docs/paper.md Fig. 2: the full CIFAR-10 training set' },
  limit: { value: null, why: 'all 50 000 images' },
  widths: { value: PAPER.cnn2.widths, why: 'Fig. 2: conv 256 filters 3×3 (valid), FC 64' },
  initScale: { value: PAPER.cnn2.initScale, why: 'docs/paper.md §3 Init: 0.3 for cnn2' },
  epochs: { value: PAPER.cnn2.epochs, why: 'Fig. 2: 40 epochs' },
  batchSize: { value: PAPER.batchSize, why: 'Fig. 2: batch 256 (~195 iterations per epoch)' },
  lr: { value: PAPER.lr, why: 'Fig. 2: lr 0.01' },
  probeEvery: { value: 195, why: 'M once per epoch' },
  evalEvery: { value: 975, why: 'training accuracy every 5 epochs' },
  trainEvalLimit: { value: 10_000, why: 'training accuracy on 10k of the images (the curve is a check, not a result)' },
};

const cpu: PresetTable<Fig2Settings> = {
  ...paper,
  limit: {
    value: 10_000,
    why: 'a fifth of the training set: both runs × 3 seeds took 8 min of CPU time (7.6 min wall) on 2 cores',
  },
  epochs: { value: 6, why: 'M separates within the first epochs; 6 epochs (~470 steps) show the trend' },
  batchSize: { value: 128, why: 'more steps on the smaller set' },
  probeEvery: { value: 20, why: 'M every 20 iterations (~4 per epoch)' },
  evalEvery: { value: 158, why: 'training accuracy every 2 epochs' },
  trainEvalLimit: { value: 2_000, why: 'training accuracy on 2k images' },
};

const smoke: PresetTable<Fig2Settings> = {
  ...paper,
  source: { value: 'test', why: 'CIFAR-10’s test file loads 5× faster than the training files' },
  limit: { value: 300, why: 'a few hundred images' },
  widths: {
    value: [32, 16],
    why: 'narrow, but still more filters (32) than patch dimensions (27) so Σ_w is invertible',
  },
  epochs: { value: 8, why: 'a few dozen steps' },
  batchSize: { value: 50, why: 'six steps per epoch' },
  lr: { value: 0.02, why: 'a larger step so training visibly progresses' },
  probeEvery: { value: 6, why: 'M once per epoch' },
  evalEvery: { value: 12, why: 'four points of the training curve' },
  trainEvalLimit: { value: null, why: 'all 300 images' },
};

const LABELS = ['real', 'random'] as const;
const LAYER = 'conv1';

function alignmentProbe(config: RunConfigInput, filters: number, every: number, seed: number): ProbeFactory {
  return {
    describe: { probe: 'alignment', layer: LAYER, every, basisSeed: seed },
    async create(context) {
      const data = await runData(config, context);
      const input = firstLayerInputCovariance(data, [filters, 3, 3, 3]);
      return createAlignmentProbe({ layer: LAYER, input: input.eigen, every, basisSeed: seed });
    },
  };
}

export const fig2Misalignment: Recipe<Fig2Settings> = {
  name: 'fig2-misalignment',
  title: 'Fig. 2: misalignment of the first layer during training',
  paperReference: '§3 Fig. 2',
  description:
    'The 2-layer CNN trained on CIFAR-10 with real and with random labels; during training the misalignment M of Σ_w of the first layer is measured against the eigenbasis of the 3×3×3 patch covariance Σ_x and against a Haar-random basis (seeded).',
  defaultSeeds: { smoke: 2, cpu: 3, paper: 3 },
  seedsWhy: {
    cpu: 'the real-label claim was decided at 3 seeds; the random-label one was inconclusive because 474 steps do not start fitting random labels (ratio 0.985, no effect to size), which more seeds cannot mend',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    return seeds.flatMap((seed) =>
      LABELS.map((labels) => {
        const config: RunConfigInput = {
          ...baseRunConfig({
            seed,
            model: { name: 'cnn2', widths: [...s.widths] },
            initScale: s.initScale,
            lr: s.lr,
            evalEvery: s.evalEvery,
            trainEvalLimit: s.trainEvalLimit,
          }),
          data: cifarData(s.source, s.limit, cifarLabels(labels, seed)),
          training: { batchSize: s.batchSize, epochs: s.epochs },
        };
        const probe = alignmentProbe(config, s.widths[0], s.probeEvery, seed);
        return trainSpec({ condition: labels, seed, config, probes: [probe] });
      }),
    );
  },
  async analyze({ plan, context }) {
    const names = alignmentMetricNames(LAYER);
    const measurements: Measurement[] = [];
    const points: { series: string; seed: number; x: number; y: number }[] = [];
    const rows: (string | number)[][] = [];
    for (const spec of plan.filter((s) => isFinished(context.store, s.id))) {
      const data = readCurve(context.store, spec.id, names.misalignmentDataPerDim);
      const random = readCurve(context.store, spec.id, names.misalignmentRandomPerDim);
      if (data.length === 0 || data.length !== random.length) continue;
      data.forEach((p, i) => {
        points.push({ series: `${spec.condition} labels, data basis`, seed: spec.seed, x: p.iteration, y: p.value });
        points.push({
          series: `${spec.condition} labels, random basis`,
          seed: spec.seed,
          x: p.iteration,
          y: random[i]!.value,
        });
      });
      const last = data[data.length - 1]!.iteration;
      const ratios = data.map((p, i) => ({ iteration: p.iteration, ratio: p.value / random[i]!.value }));
      const late = ratios.filter((r) => r.iteration >= last / 2);
      const lateMax = Math.max(...late.map((r) => r.ratio));
      measurements.push({ condition: spec.condition, seed: spec.seed, metric: 'late-max-ratio', value: lateMax });
      rows.push([
        spec.condition,
        spec.seed,
        data[0]!.value,
        data[data.length - 1]!.value,
        random[0]!.value,
        random[random.length - 1]!.value,
        lateMax,
        mean(late.map((r) => r.ratio)),
      ]);
    }
    const figures = points.length
      ? [
          {
            kind: 'chart' as const,
            id: 'misalignment',
            title: 'Misalignment M/d of the first layer during training',
            caption:
              'M/d against the data eigenbasis and against a Haar-random basis, for real and random labels; mean over seeds with 95% band. Paper: M w.r.t. the data basis stays far below M w.r.t. a random basis, for both label settings.',
            spec: bandChart(points, { xTitle: 'iteration', yTitle: 'M / d', logY: true }),
          },
        ]
      : [];
    const tables: Table[] = [
      {
        id: 'misalignment',
        title: 'Misalignment per run',
        caption:
          'M/d at the first and last probe for each basis; late-max-ratio: the largest M(data)/M(random) over the second half of training; and the mean of that ratio.',
        columns: [
          'labels',
          'seed',
          'M/d data (start)',
          'M/d data (end)',
          'M/d random (start)',
          'M/d random (end)',
          'late-max-ratio',
          'late mean ratio',
        ],
        rows,
      },
    ];
    const checks = [
      learnsCheck(context.store, runsOf(plan, 'real'), CIFAR10_CLASSES, 0.1, 'training on real labels'),
      learnsCheck(context.store, runsOf(plan, 'random'), CIFAR10_CLASSES, 0.02, 'training on random labels', false),
    ];
    return { measurements, figures, tables, checks, notes: [] };
  },
  claims: LABELS.map((labels) => ({
    id: `fig2.aligned-${labels}`,
    source: '§3 Fig. 2',
    statement: `M w.r.t. the data basis stays far below M w.r.t. a random basis (${labels} labels).`,
    paperValue: 'M(data basis) far below M(random basis) throughout training',
    // late-max-ratio: the largest M(data)/M(random) over the second half of the logged iterations.
    rule: meanBeyond(operand(labels, 'late-max-ratio'), 'below', 0.5, 1),
  })),
};

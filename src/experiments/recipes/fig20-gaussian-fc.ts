/**
 * docs/paper.md §3 Fig. 20: f of fully connected nets trained on random labels of Gaussian inputs,
 * in three settings (input dim, widths, samples, Σ_x), several seeds each. Needs no downloaded data.
 */
import type { RunConfigInput } from '../../runs/config.js';
import { seedLinesChart } from '../../report/charts.js';
import type { Figure, Measurement, Table } from '../../report/types.js';
import { readResult } from '../compute.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { trainSpec } from '../train.js';
import { alignmentSpec, meanZ, type AlignmentRecord } from './alignment.js';
import { gaussianRunConfig, learnsCheck, measurementsOf, runsOf } from './common.js';
import { allOf, meanBeyond, operand, pairedDirection } from '../../report/rules.js';
import { fShapeMetrics, risesThenFalls } from './f-shape.js';
import { PAPER } from './paper-defaults.js';

interface Panel {
  /** Σ_x as a dataset diag(...) (docs/data.md). */
  readonly diag: string;
  readonly widths: readonly number[];
  readonly samples: number;
}

export interface Fig20Settings {
  readonly left: Panel;
  readonly middle: Panel;
  readonly right: Panel;
  readonly classes: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
}

const PANELS = ['left', 'middle', 'right'] as const;

const paper: PresetTable<Fig20Settings> = {
  left: {
    value: PAPER.fig20.left,
    why: 'docs/paper.md Fig. 20 left: d=10, Σ_x = diag(1, 1.1, …, 1.9), widths 2048, 256, 10 000 samples',
  },
  middle: {
    value: PAPER.fig20.middle,
    why: 'Fig. 20 middle: d=30, Σ_x = diag(0.1, …, 3.0), widths 2048, 256, 10 000 samples',
  },
  right: {
    value: PAPER.fig20.right,
    why: 'Fig. 20 right: d=30, widths 256, 256, 2 000 samples',
  },
  classes: { value: PAPER.fig20.classes, why: 'Fig. 20: 10 output classes, labels uniform at random' },
  epochs: { value: PAPER.fig20.epochs, why: 'Fig. 20 defaults: 200 epochs' },
  batchSize: { value: PAPER.fig20.batchSize, why: 'Fig. 20 defaults: batch 128' },
  lr: {
    value: PAPER.fig20.lr,
    why: 'Fig. 20 defaults: SGD lr 0.01, momentum 0.9 (init std 1/√fan_in is the mlp default init_scale)',
  },
  evalEvery: { value: 1_000, why: 'training accuracy every 1 000 steps: only the end state is analysed' },
};

const cpu: PresetTable<Fig20Settings> = {
  ...paper,
  evalEvery: {
    value: 2_000,
    why: 'the paper’s settings (and its 5 seeds) already fit the 2 h budget on 2 cores; training accuracy every 2 000 steps',
  },
};

const smoke: PresetTable<Fig20Settings> = {
  ...paper,
  left: {
    value: { diag: PAPER.fig20.left.diag, widths: [128, 32], samples: 300 },
    why: 'tiny: exercises the pipeline end to end in seconds',
  },
  middle: { value: { diag: PAPER.fig20.middle.diag, widths: [128, 32], samples: 300 }, why: 'tiny' },
  right: { value: { diag: PAPER.fig20.right.diag, widths: [64, 32], samples: 300 }, why: 'tiny' },
  epochs: { value: 12, why: 'enough steps for the training accuracy on random labels to rise above chance' },
  batchSize: { value: 50, why: 'small batches: more steps on few samples' },
  lr: { value: 0.05, why: 'a larger step so memorisation starts within a few epochs' },
  evalEvery: { value: 12, why: 'a few points of the training curve' },
};

const demo: PresetTable<Fig20Settings> = {
  ...paper,
  evalEvery: {
    value: 2_000,
    why: '`npm start` without CIFAR-10: the paper’s three settings with 3 seeds take about 3 minutes; training accuracy every 2 000 steps',
  },
};

function panelConfig(settings: Fig20Settings, panel: Panel, seed: number): RunConfigInput {
  return gaussianRunConfig(
    {
      ...panel,
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      lr: settings.lr,
      evalEvery: settings.evalEvery,
      classes: settings.classes,
    },
    seed,
  );
}

export const fig20GaussianFc: Recipe<Fig20Settings> = {
  name: 'fig20-gaussian-fc',
  title: 'Fig. 20: f of fully connected nets on Gaussian inputs, random labels',
  paperReference: '§3 Fig. 20 (and Fig. 4 left)',
  description:
    'Fully connected networks trained on random labels of synthetic Gaussian inputs in the three settings of Fig. 20. ' +
    'After training, the first layer’s f(σ) = sqrt(v_iᵀ Σ_w v_i) is measured against the eigenpairs of the sample Σ_x, with the misalignment against the data and a random basis.',
  defaultSeeds: { smoke: 2, demo: 3, cpu: PAPER.fig20.seeds, paper: PAPER.fig20.seeds },
  seedsWhy: { cpu: 'docs/paper.md §3 Fig. 20: 5 seeds each', paper: 'docs/paper.md §3 Fig. 20: 5 seeds each' },
  scales: { smoke, demo, cpu, paper },
  available: () => ({ ok: true }),
  plan(scale, seeds) {
    const settings = scaleSettings(this, scale);
    return seeds.flatMap((seed) =>
      PANELS.flatMap((name) => {
        const config = panelConfig(settings, settings[name], seed);
        const train = trainSpec({ condition: name, seed, config });
        return [train, alignmentSpec({ train, config, weightKey: 'fc1.weight' })];
      }),
    );
  },
  async analyze({ scale, plan, context }) {
    const { store } = context;
    const measurements: Measurement[] = [];
    const points: { series: string; seed: number; x: number; y: number; panel: string }[] = [];
    const rows: (string | number)[][] = [];
    for (const spec of plan.filter((s) => s.kind === 'compute')) {
      const record = readResult<AlignmentRecord>(store, spec.id);
      if (!record) continue;
      const panel = spec.condition.split('/')[0]!;
      const metrics: Record<string, number> = { ...fShapeMetrics(record.sigma, record.f), 'mean-z': meanZ(record) };
      if (record.misalignmentDataPerDim !== undefined) {
        metrics['misalignment-data'] = record.misalignmentDataPerDim;
        metrics['misalignment-random'] = record.misalignmentRandomPerDim!;
      }
      measurements.push(...measurementsOf(panel, spec.seed, metrics));
      record.sigma.forEach((sigma, i) =>
        points.push({ series: panel, seed: spec.seed, x: sigma, y: record.f[i]!, panel }),
      );
      rows.push([
        panel,
        spec.seed,
        record.f[0]!,
        Math.max(...record.f),
        record.f[record.f.length - 1]!,
        metrics['misalignment-data'] ?? NaN,
        metrics['misalignment-random'] ?? NaN,
        metrics['mean-z']!,
      ]);
    }
    const figures: Figure[] = points.length
      ? [
          {
            kind: 'chart',
            id: 'f-curves',
            title: 'f(σ) of the first layer after training on random labels',
            caption:
              'One line per seed. σ_i = sqrt of the i-th eigenvalue of the sample Σ_x; f(σ_i) = sqrt(v_iᵀ Σ_w v_i). Paper: left decreasing 0.38 → 0.315; middle rises then falls; right rises then saturates ≈0.25.',
            spec: seedLinesChart(points, {
              xTitle: 'σ (sqrt of Σ_x eigenvalue)',
              yTitle: 'f(σ)',
              panelTitle: 'setting',
              width: 240,
            }),
          },
        ]
      : [];
    const tables: Table[] = [
      {
        id: 'f-summary',
        title: 'f and alignment per run',
        caption:
          'f at the smallest σ, its maximum, f at the largest σ; misalignment per dimension (M/d) against the data eigenbasis and a Haar-random basis; mean-z ≈ 1 when the weight mean is zero.',
        columns: ['setting', 'seed', 'f(σ_min)', 'max f', 'f(σ_max)', 'M/d data', 'M/d random', 'mean-z'],
        rows,
      },
    ];
    const trains = plan.filter((s) => s.kind === 'train');
    const { classes } = scaleSettings(this, scale);
    const checks = PANELS.map((panel) =>
      learnsCheck(store, runsOf(trains, panel), classes, 0.05, `training on random labels (${panel})`),
    );
    return { measurements, figures, tables, checks, notes: [] };
  },
  claims: [
    {
      id: 'fig20.left-decreasing',
      source: '§3 Fig. 20 (left)',
      statement: 'Input dim 10, Σ_x = diag(1, …, 1.9), widths 2048, 256: f is decreasing.',
      paperValue: 'decreasing 0.38 → 0.315',
      rule: meanBeyond(operand('left', 'f-slope'), 'below', 0),
    },
    {
      id: 'fig20.middle-rises-then-falls',
      source: '§3 Fig. 20 (middle)',
      statement: 'Input dim 30, Σ_x = diag(0.1, …, 3.0), widths 2048, 256: f rises then falls.',
      paperValue: 'rises then falls',
      rule: risesThenFalls('middle'),
    },
    {
      id: 'fig20.right-rises-then-saturates',
      source: '§3 Fig. 20 (right)',
      statement:
        'Input dim 30, widths 256, 256, 2 000 samples: f rises then saturates (rising, and concave: f-curvature > 0).',
      paperValue: 'rises then saturates ≈0.25',
      rule: allOf(
        pairedDirection(operand('right', 'f-high'), operand('right', 'f-low'), 'greater'),
        meanBeyond(operand('right', 'f-curvature'), 'above', 0),
      ),
    },
    {
      id: 'fig20.aligned',
      source: '§2 Proposition; §2 Misalignment score',
      statement:
        'With Gaussian inputs and labels independent of x, Σ_w is aligned with Σ_x: the misalignment w.r.t. the data eigenbasis is below that w.r.t. a random basis.',
      paperValue: 'M(data basis) < M(random basis)',
      rule: allOf(
        ...PANELS.map((panel) =>
          pairedDirection(operand(panel, 'misalignment-data'), operand(panel, 'misalignment-random'), 'less'),
        ),
      ),
    },
    {
      id: 'fig20.mean-zero',
      source: '§2 Weight covariance; Proposition',
      statement:
        'The first-layer weights have mean ≈ 0 (mean-z = ‖mean row‖·√rows / rms row norm, ≈1 for zero-mean i.i.d. rows).',
      paperValue: 'mean ≈ 0',
      rule: allOf(...PANELS.map((panel) => meanBeyond(operand(panel, 'mean-z'), 'below', 3))),
    },
  ],
};

/**
 * docs/paper.md §3 Fig. 4: the shape of the transfer function f. Left: a fully connected net on
 * synthetic Gaussian inputs N(0, diag(0.1, …, 3.0)) with random labels. Centre/right: the 2-layer CNN
 * on CIFAR-10 with random / real labels, f after several epochs.
 */
import { alignmentMetricNames, createAlignmentProbe } from '../../analysis/index.js';
import type { RunConfigInput } from '../../runs/config.js';
import type { RunStore } from '../../runs/store.js';
import { seedLinesChart } from '../../report/charts.js';
import { meanBeyond, operand, pairedDirection } from '../../report/rules.js';
import type { Figure, Measurement, Table } from '../../report/types.js';
import { readResult } from '../compute.js';
import { scaleSettings, type PresetTable, type Recipe, type RunSpec } from '../recipe.js';
import { isFinished, trainSpec, type ProbeFactory } from '../train.js';
import { alignmentSpec, type AlignmentRecord } from './alignment.js';
import {
  baseRunConfig,
  cifarAvailability,
  cifarData,
  cifarLabels,
  CIFAR10_CLASSES,
  CIFAR10_IMAGES,
  firstLayerInputCovariance,
  gaussianRunConfig,
  learnsCheck,
  measurementsOf,
  runData,
  runsOf,
} from './common.js';
import { fShapeMetrics, risesThenFalls, seedDeviation } from './f-shape.js';
import { firstLayerStdInitializer } from './initializers.js';
import { PAPER } from './paper-defaults.js';

export interface Fig4Settings {
  readonly synthetic: {
    readonly diag: string;
    readonly samples: number;
    readonly widths: readonly number[];
    readonly epochs: number;
    readonly batchSize: number;
    readonly lr: number;
  };
  readonly source: 'train' | 'test';
  readonly limit: number | null;
  readonly widths: readonly [number, number];
  readonly initScale: number;
  readonly convInitStd: number;
  readonly epochs: readonly number[];
  readonly batchSize: number;
  readonly lr: number;
}

/** Fig. 4 left is the setting of Fig. 20 middle, trained with Fig. 20's defaults. */
const FIG20_MIDDLE: Fig4Settings['synthetic'] = {
  diag: PAPER.fig20.middle.diag,
  samples: PAPER.fig20.middle.samples,
  widths: PAPER.fig20.middle.widths,
  epochs: PAPER.fig20.epochs,
  batchSize: PAPER.fig20.batchSize,
  lr: PAPER.fig20.lr,
};

const paper: PresetTable<Fig4Settings> = {
  synthetic: {
    value: FIG20_MIDDLE,
    why: 'docs/paper.md Fig. 4 left (= Fig. 20 middle): d=30, Σ_x = diag(0.1, …, 3.0), widths 2048, 256, 10 000 samples, 200 epochs, batch 128, lr 0.01',
  },
  source: { value: 'train', why: 'Fig. 4 centre/right: CIFAR-10 training set' },
  limit: { value: null, why: 'all 50 000 images' },
  widths: { value: PAPER.cnn2.widths, why: 'the 2-layer CNN of Fig. 2' },
  initScale: { value: PAPER.cnn2.initScale, why: 'docs/paper.md §3 Init: 0.3 for cnn2 (FC layers)' },
  convInitStd: {
    value: PAPER.fig4.flatF,
    why: 'Fig. 4: f is flat ≈0.002 at the smallest and largest σ, so the conv init there is that small',
  },
  epochs: { value: PAPER.fig4.epochs, why: 'Fig. 4: f after 5, 10, 20, 40 epochs' },
  batchSize: { value: PAPER.batchSize, why: 'docs/paper.md §3 Optimiser' },
  lr: { value: PAPER.lr, why: 'Fig. 2 settings' },
};

const cpu: PresetTable<Fig4Settings> = {
  ...paper,
  synthetic: { value: FIG20_MIDDLE, why: 'the paper’s setting (it fits the 2 h budget)' },
  limit: { value: 5_000, why: 'a tenth of the training set, so the recipe took 10.4 min of CPU time on 2 cores' },
  epochs: { value: [1, 2, 4, 8], why: 'the paper’s doubling schedule, from 1 to 8 epochs (320 steps)' },
  batchSize: { value: 128, why: 'more steps on the smaller set' },
};

const smoke: PresetTable<Fig4Settings> = {
  ...paper,
  synthetic: {
    value: { diag: PAPER.fig20.middle.diag, samples: 300, widths: [128, 32], epochs: 12, batchSize: 50, lr: 0.05 },
    why: 'tiny: exercises the pipeline in seconds',
  },
  source: { value: 'test', why: 'CIFAR-10’s test file loads 5× faster' },
  limit: { value: 300, why: 'a few hundred images' },
  widths: { value: [32, 16], why: 'narrow; 32 filters > 27 patch dimensions' },
  epochs: { value: [2, 4, 8], why: 'three snapshots' },
  batchSize: { value: 50, why: 'six steps per epoch' },
  lr: { value: 0.02, why: 'a larger step so training visibly progresses' },
};

const LAYER = 'conv1';
const LABELS = ['random', 'real'] as const;

function stepsPerEpoch(s: Fig4Settings): number {
  return Math.ceil((s.limit ?? CIFAR10_IMAGES[s.source]) / s.batchSize);
}

function fProbe(config: RunConfigInput, filters: number, every: number, seed: number): ProbeFactory {
  return {
    describe: { probe: 'alignment', layer: LAYER, every, basisSeed: seed },
    async create(context) {
      const input = firstLayerInputCovariance(await runData(config, context), [filters, 3, 3, 3]);
      return createAlignmentProbe({ layer: LAYER, input: input.eigen, every, basisSeed: seed, fValues: input.dim });
    },
  };
}

/** f at each recorded step of a run's alignment probe: step → f[eigen-index]; σ from the first record. */
function probedF(store: RunStore, id: string): { sigma: number[]; byStep: Map<number, number[]> } {
  const names = alignmentMetricNames(LAYER);
  const sigma: number[] = [];
  const byStep = new Map<number, number[]>();
  const fPrefix = names.f(0).slice(0, -1);
  const sigmaPrefix = names.sigma(0).slice(0, -1);
  for (const row of store.metrics(id)) {
    if (row.value === null) continue;
    if (row.name.startsWith(sigmaPrefix)) sigma[Number(row.name.slice(sigmaPrefix.length))] = row.value;
    else if (row.name.startsWith(fPrefix)) {
      let values = byStep.get(row.step);
      if (!values) byStep.set(row.step, (values = []));
      values[Number(row.name.slice(fPrefix.length))] = row.value;
    }
  }
  return { sigma, byStep };
}

export const fig4FCurves: Recipe<Fig4Settings> = {
  name: 'fig4-f-curves',
  title: 'Fig. 4: the shape of the transfer function f',
  paperReference: '§3 Fig. 4',
  description:
    'f(σ_i) = sqrt(v_iᵀ Σ_w v_i) of the first layer. Synthetic: a fully connected net on Gaussian inputs with random labels, f at the end of training. ' +
    'CIFAR-10: the 2-layer CNN with random and with real labels, f after each listed epoch (an alignment probe during training).',
  defaultSeeds: { smoke: 2, cpu: 7, paper: PAPER.fig4.seeds },
  seedsWhy: {
    cpu: 'sized from the last cpu run (3 seeds): FC f’s fall from the middle to the high third of σ, +0.0023 with sd 0.0017, needs 7 seeds for 80% power: about 25 min of CPU at 3.5 min a seed; every other claim was decided at 3',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    const plan: RunSpec[] = [];
    const perEpoch = stepsPerEpoch(s);
    for (const seed of seeds) {
      const synthetic = s.synthetic;
      // Training accuracy about six times per run: only the end state is analysed.
      const evalEvery =
        Math.ceil(synthetic.samples / synthetic.batchSize) * Math.max(1, Math.floor(synthetic.epochs / 6));
      const syntheticConfig = gaussianRunConfig({ ...synthetic, evalEvery, classes: PAPER.fig20.classes }, seed);
      const train = trainSpec({ condition: 'synthetic', seed, config: syntheticConfig });
      plan.push(train, alignmentSpec({ train, config: syntheticConfig, weightKey: 'fc1.weight' }));
      for (const labels of LABELS) {
        const config: RunConfigInput = {
          ...baseRunConfig({
            seed,
            model: { name: 'cnn2', widths: [...s.widths] },
            initScale: s.initScale,
            lr: s.lr,
            evalEvery: perEpoch,
          }),
          data: cifarData(s.source, s.limit, cifarLabels(labels, seed)),
          training: { batchSize: s.batchSize, epochs: Math.max(...s.epochs) },
        };
        plan.push(
          trainSpec({
            condition: labels,
            seed,
            config,
            initializer: firstLayerStdInitializer({ std: s.convInitStd, seed }),
            probes: [fProbe(config, s.widths[0], perEpoch, seed)],
          }),
        );
      }
    }
    return plan;
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    const { store } = context;
    const perEpoch = stepsPerEpoch(s);
    const measurements: Measurement[] = [];
    const syntheticPoints: { series: string; seed: number; x: number; y: number }[] = [];
    const cnnPoints: { series: string; seed: number; x: number; y: number; panel: string }[] = [];
    const syntheticCurves = new Map<number, number[]>();
    const rows: (string | number)[][] = [];
    for (const spec of plan.filter((p) => p.kind === 'compute')) {
      const record = readResult<AlignmentRecord>(store, spec.id);
      if (!record) continue;
      measurements.push(...measurementsOf('synthetic', spec.seed, fShapeMetrics(record.sigma, record.f)));
      syntheticCurves.set(spec.seed, record.f);
      record.sigma.forEach((sigma, i) =>
        syntheticPoints.push({ series: 'synthetic', seed: spec.seed, x: sigma, y: record.f[i]! }),
      );
      rows.push(['synthetic', 'end', spec.seed, record.f[0]!, Math.max(...record.f), record.f[record.f.length - 1]!]);
    }
    for (const [seed, deviation] of seedDeviation(syntheticCurves))
      measurements.push({ condition: 'synthetic', seed, metric: 'f-seed-deviation', value: deviation });
    const epochs = [...s.epochs].sort((a, b) => a - b);
    for (const spec of plan.filter(
      (p) => p.kind === 'train' && p.condition !== 'synthetic' && isFinished(store, p.id),
    )) {
      const { sigma, byStep } = probedF(store, spec.id);
      epochs.forEach((epoch, index) => {
        const f = byStep.get(epoch * perEpoch);
        if (!f || f.length !== sigma.length) return;
        const metrics = fShapeMetrics(sigma, f);
        measurements.push(...measurementsOf(`${spec.condition}/e${epoch}`, spec.seed, metrics));
        if (index === 0) measurements.push(...measurementsOf(`${spec.condition}/first`, spec.seed, metrics));
        if (index === epochs.length - 1)
          measurements.push(...measurementsOf(`${spec.condition}/last`, spec.seed, metrics));
        sigma.forEach((x, i) =>
          cnnPoints.push({ series: `epoch ${epoch}`, seed: spec.seed, x, y: f[i]!, panel: `${spec.condition} labels` }),
        );
        rows.push([`${spec.condition} labels`, `epoch ${epoch}`, spec.seed, f[0]!, Math.max(...f), f[f.length - 1]!]);
      });
    }
    const figures: Figure[] = [];
    if (syntheticPoints.length) {
      figures.push({
        kind: 'chart',
        id: 'f-synthetic',
        title: 'f(σ): fully connected net, Gaussian inputs, random labels',
        caption:
          'One line per seed. Paper (Fig. 4 left): ≈0.184 at 0.1, peak ≈0.207 near 1, ≈0.163 at 3.0; seeds nearly coincide.',
        spec: seedLinesChart(syntheticPoints, { xTitle: 'σ (sqrt of Σ_x eigenvalue)', yTitle: 'f(σ)' }),
      });
    }
    if (cnnPoints.length) {
      figures.push({
        kind: 'chart',
        id: 'f-cnn',
        title: 'f(σ) of the 2-layer CNN during training',
        caption:
          'One line per seed and epoch; σ on a log axis. Paper (Fig. 4 centre/right): f grows with training; random labels peak ≈0.10 near σ≈0.25–0.3 at epoch 40, real labels ≈0.024 near σ≈1; ≈0.002 at the ends.',
        spec: seedLinesChart(cnnPoints, {
          xTitle: 'σ (sqrt of patch-covariance eigenvalue)',
          yTitle: 'f(σ)',
          logX: true,
          logY: true,
          panelTitle: 'labels',
        }),
      });
    }
    const tables: Table[] = [
      {
        id: 'f-values',
        title: 'f per run',
        columns: ['setting', 'when', 'seed', 'f(σ_min)', 'max f', 'f(σ_max)'],
        rows,
      },
    ];
    const syntheticTrains = plan.filter((p) => p.condition === 'synthetic' && p.kind === 'train');
    const checks = [
      learnsCheck(store, runsOf(plan, 'real'), CIFAR10_CLASSES, 0.1, 'the CNN on real labels'),
      learnsCheck(store, runsOf(plan, 'random'), CIFAR10_CLASSES, 0.02, 'the CNN on random labels', false),
      learnsCheck(store, syntheticTrains, PAPER.fig20.classes, 0.05, 'the FC net on random labels'),
    ];
    return { measurements, figures, tables, checks, notes: [] };
  },
  claims: [
    {
      id: 'fig4.synthetic-rises-then-falls',
      source: '§3 Fig. 4 (left)',
      statement: 'Fully connected net on N(0, diag(0.1, …, 3.0)), random labels: f rises then falls.',
      paperValue: '≈0.184 at 0.1, peak ≈0.207 near 1, ≈0.163 at 3.0',
      rule: risesThenFalls('synthetic'),
    },
    {
      id: 'fig4.synthetic-seeds-coincide',
      source: '§3 Fig. 4 (left)',
      statement:
        'The f curves of different seeds nearly coincide (f-seed-deviation: mean over σ of a seed’s relative distance |f_s − f̄| / f̄ from the mean f̄ of the other seeds).',
      paperValue: '5 seeds nearly coincide',
      // With two seeds the two deviations are (almost) equal by symmetry, which would fake a zero-width interval.
      rule: meanBeyond(operand('synthetic', 'f-seed-deviation'), 'below', 0.1, 0.25, 3),
    },
    ...LABELS.map((labels) => ({
      id: `fig4.cnn-${labels}-grows`,
      source: '§3 Fig. 4 (centre/right)',
      statement: `2-layer CNN on CIFAR-10 with ${labels} labels: f grows with training.`,
      paperValue: 'f at epoch 40 above f at epoch 5',
      rule: pairedDirection(operand(`${labels}/last`, 'f-mean'), operand(`${labels}/first`, 'f-mean'), 'greater'),
    })),
    {
      id: 'fig4.cnn-random-peak-interior',
      source: '§3 Fig. 4 (centre)',
      statement:
        'With random labels f peaks at an intermediate σ and is flat at the smallest and largest σ (mean f over the middle third of the sorted σ values exceeds both outer thirds).',
      paperValue: 'peak ≈0.10 near σ≈0.25–0.3, ≈0.002 at the ends',
      rule: risesThenFalls('random/last'),
    },
    {
      id: 'fig4.cnn-random-above-real',
      source: '§3 Fig. 4 (centre vs right)',
      statement: 'The peak of f after training on random labels is higher than after training on real labels.',
      paperValue: 'peak ≈0.10 (random) vs ≈0.024 (real)',
      rule: pairedDirection(operand('random/last', 'f-peak'), operand('real/last', 'f-peak'), 'greater'),
    },
  ],
};

/**
 * docs/paper.md §3 "Critical stages": train on random labels for L epochs, then switch to the real
 * labels of the same images and train for a fixed number of epochs; the final test accuracy against L.
 */
import type { LabelSpec } from '../../data/labels.js';
import type { RunConfigInput } from '../../runs/config.js';
import { bandChart, barChart } from '../../report/charts.js';
import { linearSlope } from '../../report/stats.js';
import type { Figure, Measurement, Table } from '../../report/types.js';
import { scaleSettings, type PresetTable, type Recipe, type RunSpec } from '../recipe.js';
import { isFinished, readCurve, trainSpec } from '../train.js';
import {
  baseRunConfig,
  cifarAvailability,
  cifarLabels,
  CIFAR10_CLASSES,
  learnsCheck,
  REAL_LABELS,
  runsOf,
} from './common.js';
import { PAPER } from './paper-defaults.js';
import { meanBeyond, operand } from '../../report/rules.js';
import { withUpstreamFit } from '../../report/transfer.js';
import { upstreamFit } from './transfer.js';

const RANDOM_PHASE_SUFFIX = '/random';
/** The longest random-label phase of a scale, so the claim reads the same at every scale (as `k=max` does). */
const LONGEST_RANDOM_PHASE = `phase=max${RANDOM_PHASE_SUFFIX}`;

export interface CriticalSettings {
  readonly source: 'train' | 'test';
  readonly examples: number;
  readonly testLimit: number | null;
  readonly widths: readonly [number, number];
  readonly initScale: number;
  readonly phases: readonly number[];
  readonly realEpochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
}

const paper: PresetTable<CriticalSettings> = {
  source: { value: 'train', why: 'CIFAR-10 training images' },
  examples: { value: PAPER.transfer.downstream, why: 'the downstream size of the §3 protocol' },
  testLimit: { value: null, why: 'the whole test set' },
  widths: { value: PAPER.cnn2.widths, why: 'the 2-layer CNN of Fig. 2' },
  initScale: { value: PAPER.cnn2.initScale, why: 'docs/paper.md §3 Init' },
  phases: {
    value: [0, 5, 10, 20, 40],
    why: '[default] random-label phase lengths in epochs, 0 = real labels from the start',
  },
  realEpochs: { value: 40, why: '[default] the real-label phase, the same for every L' },
  batchSize: { value: PAPER.batchSize, why: 'docs/paper.md §3 Optimiser' },
  lr: { value: PAPER.lr, why: 'docs/paper.md §3 Optimiser' },
  evalEvery: { value: 500, why: 'a few points of each curve; the result is the final test accuracy' },
};

const cpu: PresetTable<CriticalSettings> = {
  ...paper,
  examples: { value: 4_000, why: 'a sixth of the paper’s size: the recipe took 8.3 min of CPU time on 2 cores' },
  widths: { value: [128, 64], why: 'half of the 2-layer CNN’s conv filters (half the operations)' },
  testLimit: { value: 2_000, why: 'test accuracy on 2 000 test images (±1% standard error)' },
  phases: { value: [0, 2, 5, 10], why: 'random-label phases of 0–10 epochs' },
  realEpochs: { value: 8, why: 'a fixed real-label phase' },
  batchSize: { value: 128, why: 'more steps on the smaller set' },
  evalEvery: { value: 100, why: 'a few points of each curve' },
};

const smoke: PresetTable<CriticalSettings> = {
  ...paper,
  source: {
    value: 'test',
    why: 'CIFAR-10’s test file loads 5× faster; a seeded 300 of it train, the first 500 score (about 15 images overlap: smoke only)',
  },
  examples: { value: 300, why: 'a few hundred images' },
  testLimit: { value: 500, why: 'a quick test score' },
  widths: { value: [32, 32], why: 'narrow' },
  phases: { value: [0, 2, 4], why: 'three phase lengths' },
  realEpochs: { value: 8, why: 'enough for the real-label phase to learn above chance' },
  batchSize: { value: 50, why: 'six steps per epoch' },
  lr: { value: 0.02, why: 'a larger step for the short run' },
  evalEvery: { value: 12, why: 'a few points of each curve' },
};

export const criticalStages: Recipe<CriticalSettings> = {
  name: 'critical-stages',
  title: 'Critical stages: length of the random-label phase',
  paperReference: '§3 Critical stages',
  description:
    'The 2-layer CNN trains on random labels for L epochs, then on the real labels of the same images for a fixed number of epochs (weights and head kept: the labels switch, the network continues). ' +
    'The final test accuracy is compared across L; L = 0 trains on real labels from the start.',
  defaultSeeds: { smoke: 2, cpu: 9, paper: 3 },
  seedsWhy: {
    cpu: 'sized from the last cpu run (3 seeds): the slope of test accuracy against the random-label phase, −0.0023 per epoch with sd 0.0021, needs 9 seeds for 80% power: about 25 min at 2.8 min a seed',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    const plan: RunSpec[] = [];
    for (const seed of seeds) {
      const base = (labels: LabelSpec) =>
        ({
          ...baseRunConfig({
            seed,
            model: { name: 'cnn2', widths: [...s.widths] },
            initScale: s.initScale,
            lr: s.lr,
            evalEvery: s.evalEvery,
          }),
          data: {
            dataset: 'cifar10',
            trainSplit: s.source,
            split: { seed, parts: { train: s.examples }, use: 'train' },
            labels,
            testSplit: 'test',
            testLimit: s.testLimit,
          },
        }) satisfies RunConfigInput;
      for (const phase of s.phases) {
        const real = { ...base(REAL_LABELS), training: { batchSize: s.batchSize, epochs: s.realEpochs } };
        if (phase === 0) {
          plan.push(trainSpec({ condition: 'phase=0', seed, config: real }));
          continue;
        }
        const random = trainSpec({
          condition: `phase=${phase}${RANDOM_PHASE_SUFFIX}`,
          seed,
          config: { ...base(cifarLabels('random', seed)), training: { batchSize: s.batchSize, epochs: phase } },
        });
        plan.push(
          random,
          trainSpec({
            condition: `phase=${phase}`,
            seed,
            config: {
              ...real,
              init: { scale: s.initScale, from: { run: random.id, rescale: false, reinitHead: false } },
            },
          }),
        );
      }
    }
    return plan;
  },
  async analyze({ scale, seeds, plan, context }) {
    const s = scaleSettings(this, scale);
    const { store } = context;
    const measurements: Measurement[] = [];
    const rows: (string | number)[][] = [];
    const curves: { series: string; seed: number; x: number; y: number }[] = [];
    const finals = new Map<number, { phase: number; accuracy: number }[]>();
    const randomPhases = plan.filter((p) => p.condition.endsWith(RANDOM_PHASE_SUFFIX));
    for (const spec of plan.filter((p) => !randomPhases.includes(p) && isFinished(store, p.id))) {
      const phase = Number(spec.condition.slice('phase='.length));
      const test = readCurve(store, spec.id, 'test/accuracy');
      const train = readCurve(store, spec.id);
      if (test.length === 0 || train.length === 0) continue;
      const finalTest = test[test.length - 1]!.value;
      measurements.push(
        { condition: spec.condition, seed: spec.seed, metric: 'final-test-acc', value: finalTest },
        {
          condition: spec.condition,
          seed: spec.seed,
          metric: 'final-train-acc',
          value: train[train.length - 1]!.value,
        },
      );
      finals.set(spec.seed, [...(finals.get(spec.seed) ?? []), { phase, accuracy: finalTest }]);
      rows.push([phase, spec.seed, finalTest, train[train.length - 1]!.value]);
      for (const p of test) curves.push({ series: `L = ${phase}`, seed: spec.seed, x: p.iteration, y: p.value });
    }
    for (const seed of seeds) {
      const points = finals.get(seed) ?? [];
      if (points.length === s.phases.length) {
        measurements.push({
          condition: 'all',
          seed,
          metric: 'final-acc-slope',
          value: linearSlope(
            points.map((p) => p.phase),
            points.map((p) => p.accuracy),
          ),
        });
      }
    }
    const figures: Figure[] = [];
    if (rows.length) {
      figures.push(
        {
          kind: 'chart',
          id: 'final-test-accuracy',
          title: 'Final test accuracy against the length of the random-label phase',
          caption: 'Mean over seeds with 95% interval. Paper: longer random-label phases hurt final performance more.',
          spec: barChart(
            measurements
              .filter((m) => m.metric === 'final-test-acc')
              .map((m) => ({ series: m.condition, seed: m.seed, y: m.value })),
            { yTitle: 'final test accuracy', xTitle: 'random-label phase (epochs)' },
          ),
        },
        {
          kind: 'chart',
          id: 'test-curves',
          title: 'Test accuracy during the real-label phase',
          caption: 'L = epochs of random labels before the switch.',
          spec: bandChart(curves, {
            xTitle: 'iteration of the real-label phase',
            yTitle: 'test accuracy',
            yDomain: [0, 1],
          }),
        },
      );
    }
    // The random-label phase is this recipe's pre-training: how far each fit its random labels.
    const fit = upstreamFit(store, randomPhases, CIFAR10_CLASSES);
    const longest = `phase=${Math.max(...s.phases)}${RANDOM_PHASE_SUFFIX}`;
    measurements.push(
      ...fit.measurements,
      ...fit.measurements
        .filter((m) => m.condition === longest)
        .map((m) => ({ ...m, condition: LONGEST_RANDOM_PHASE })),
    );
    const tables: Table[] = [
      {
        id: 'finals',
        title: 'Final accuracies',
        columns: ['random phase (epochs)', 'seed', 'test accuracy', 'train accuracy'],
        rows,
      },
      ...fit.tables,
    ];
    const checks = [
      learnsCheck(store, runsOf(plan, 'phase=0'), CIFAR10_CLASSES, 0.1, 'training from scratch on real labels'),
    ];
    return {
      measurements,
      figures,
      tables,
      checks,
      notes: [`${LONGEST_RANDOM_PHASE} in the claims is ${longest}, the longest random-label phase at this scale.`],
    };
  },
  claims: [
    {
      id: 'critical.longer-hurts',
      source: '§3 Critical stages',
      statement:
        'Longer random-label phases before switching to real labels hurt final downstream performance more (final-acc-slope: slope of final downstream test accuracy against phase length, per seed).',
      paperValue: 'negative slope',
      rule: withUpstreamFit(meanBeyond(operand('all', 'final-acc-slope'), 'below', 0), LONGEST_RANDOM_PHASE),
    },
  ],
};

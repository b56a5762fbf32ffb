/**
 * docs/paper.md §3 Fig. 1: VGG16 pre-trained on random labels of the upstream part, then trained on the
 * downstream part with real (top) or random (bottom) labels, against training from scratch; one setting
 * with positive transfer (few upstream classes, short pre-training) and one with negative transfer
 * (many upstream classes, longer pre-training).
 */
import type { Figure, Measurement, Table } from '../../report/types.js';
import { scaleSettings, type PresetTable, type Recipe, type RunSpec } from '../recipe.js';
import { trainSpec } from '../train.js';
import {
  baseRunConfig,
  cifarAvailability,
  cifarTransferSplit,
  pretrainingLearnsCheck,
  randomLabels,
  REAL_LABELS,
  scratchLearnsCheck,
  type TransferData,
} from './common.js';
import { analyseTransfer, downstreamCurves, fromUpstream, transferPhases, type TransferTraining } from './transfer.js';
import { fasterThan, slowerThan } from '../../report/transfer.js';

interface UpstreamSetting {
  readonly classes: number;
  readonly epochs: number;
}

export interface Fig1Settings extends TransferTraining {
  readonly data: TransferData;
  readonly widths: readonly number[];
  readonly batchNorm: boolean;
  readonly positive: UpstreamSetting;
  readonly negative: UpstreamSetting;
  readonly downstreamRandomClasses: number;
}

const VGG16_WIDTHS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];

const paper: PresetTable<Fig1Settings> = {
  data: {
    value: {
      source: 'train',
      upstream: 20_000,
      downstream: 25_000,
      testSplit: 'test',
      testLimit: null,
      trainEvalLimit: 5_000,
    },
    why: 'docs/paper.md §3 transfer protocol',
  },
  widths: { value: VGG16_WIDTHS, why: 'docs/paper.md Fig. 1: the VGG16 conv stack' },
  batchNorm: { value: true, why: 'VGG16 with BatchNorm trains at He init' },
  positive: {
    value: { classes: 5, epochs: 10 },
    why: 'docs/paper.md Fig. 1 [default]: positive setting, 5 upstream random classes',
  },
  negative: {
    value: { classes: 50, epochs: 60 },
    why: 'docs/paper.md Fig. 1 [default]: negative setting, 50 upstream random classes, longer training',
  },
  downstreamRandomClasses: { value: 10, why: 'downstream random labels over 10 classes (Fig. 1 bottom)' },
  downstreamIterations: { value: 3_000, why: '[default] about 30 epochs of the downstream part' },
  batchSize: { value: 256, why: 'docs/paper.md §3 Optimiser' },
  lr: { value: 0.001, why: 'docs/paper.md Fig. 1: learning rate around 1e-3' },
  evalEvery: { value: 100, why: '30 points of the training curve' },
  fixedIterations: { value: [1_000, 2_000, 3_000], why: 'as Fig. 5, and the end' },
};

const cpu: PresetTable<Fig1Settings> = {
  ...paper,
  data: {
    value: {
      source: 'train',
      upstream: 4_000,
      downstream: 4_000,
      testSplit: null,
      testLimit: null,
      trainEvalLimit: 2_000,
    },
    why: 'VGG16 is expensive on 2 cores: a fifth of the paper’s parts',
  },
  widths: {
    value: VGG16_WIDTHS.map((w) => w / 8),
    why: 'the VGG16 layout at an eighth of the width (64× fewer operations), so the 24 runs took 16 min of CPU time (8.7 min wall) on 2 cores',
  },
  positive: { value: { classes: 5, epochs: 4 }, why: 'few classes, short pre-training' },
  negative: { value: { classes: 50, epochs: 24 }, why: 'many classes, six times longer' },
  downstreamIterations: { value: 600, why: 'about 19 epochs of the downstream part at batch 128' },
  batchSize: { value: 128, why: 'more steps on the smaller parts' },
  lr: { value: 0.01, why: 'the thin network trains too slowly at 1e-3 within a few hundred steps' },
  evalEvery: { value: 50, why: '12 points of the training curve' },
  fixedIterations: { value: [200, 400, 600], why: 'thirds of the downstream run' },
};

const smoke: PresetTable<Fig1Settings> = {
  ...paper,
  data: {
    value: { source: 'test', upstream: 300, downstream: 300, testSplit: null, testLimit: null, trainEvalLimit: null },
    why: 'a few hundred images of CIFAR-10’s test file',
  },
  widths: { value: [8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 16], why: 'the VGG16 layout, very thin' },
  positive: { value: { classes: 5, epochs: 2 }, why: 'few classes, short pre-training' },
  negative: { value: { classes: 50, epochs: 4 }, why: 'many classes, longer' },
  downstreamIterations: { value: 48, why: 'enough steps for scratch to learn above chance' },
  batchSize: { value: 50, why: 'six steps per epoch' },
  lr: { value: 0.05, why: 'a larger step: the thin BatchNorm VGG16 learns within 48 steps' },
  evalEvery: { value: 8, why: 'six points of the training curve' },
  fixedIterations: { value: [24, 48], why: 'half-way and end' },
};

const SETTINGS = ['positive', 'negative'] as const;
const DOWNSTREAM_LABELS = ['real', 'random'] as const;

export const fig1Vgg16Transfer: Recipe<Fig1Settings> = {
  name: 'fig1-vgg16-transfer',
  title: 'Fig. 1: transfer after pre-training VGG16 on random labels',
  paperReference: '§3 Fig. 1',
  description:
    'VGG16 (conv stack and one linear classifier) pre-trained on random labels of the upstream part in a positive setting (few classes, short) and a negative one (many classes, long); ' +
    'then rescaled to its initial norms with a new head and trained on the downstream part with real or random labels, against training from scratch.',
  defaultSeeds: { smoke: 2, cpu: 3, paper: 3 },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    const plan: RunSpec[] = [];
    for (const seed of seeds) {
      const common = baseRunConfig({
        seed,
        model: { name: 'vgg16', widths: [...s.widths], batchNorm: s.batchNorm },
        lr: s.lr,
        evalEvery: s.evalEvery,
        trainEvalLimit: s.data.trainEvalLimit,
      });
      const phases = transferPhases({ common, split: cifarTransferSplit(s.data), seed, batchSize: s.batchSize });
      const upstream = Object.fromEntries(
        SETTINGS.map((setting) => [
          setting,
          trainSpec({
            condition: `upstream-${setting}`,
            seed,
            config: phases.upstream(s[setting].classes, s[setting].epochs),
          }),
        ]),
      ) as Record<(typeof SETTINGS)[number], RunSpec>;
      plan.push(upstream.positive, upstream.negative);
      for (const labels of DOWNSTREAM_LABELS) {
        // Downstream random labels use their own stream seed, so they differ from the upstream ones.
        const downstream = phases.downstream(
          s.downstreamIterations,
          labels === 'real' ? REAL_LABELS : randomLabels(s.downstreamRandomClasses, seed + 1_000),
        );
        plan.push(
          trainSpec({
            condition: `${labels}/scratch`,
            seed,
            config: downstream,
            dependsOn: [upstream.positive.id, upstream.negative.id],
          }),
        );
        for (const setting of SETTINGS) {
          plan.push(
            trainSpec({
              condition: `${labels}/${setting}`,
              seed,
              config: fromUpstream(downstream, upstream[setting].id),
            }),
          );
        }
      }
    }
    return plan;
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    const measurements: Measurement[] = [];
    const figures: Figure[] = [];
    const tables: Table[] = [];
    for (const labels of DOWNSTREAM_LABELS) {
      const transfer = analyseTransfer(
        downstreamCurves(
          context.store,
          plan.filter((p) => p.condition.startsWith(`${labels}/`)),
        ),
        {
          baseline: `${labels}/scratch`,
          fixedIterations: s.fixedIterations,
          what: `downstream train accuracy (${labels} labels)`,
          figureId: `downstream-${labels}`,
          figureTitle: `Downstream training accuracy, ${labels} labels`,
          caption: `Paper (Fig. 1 ${labels === 'real' ? 'top' : 'bottom'}): pre-trained above scratch in the positive setting, below it in the negative one.`,
          tableIdPrefix: `${labels}-`,
        },
      );
      measurements.push(...transfer.measurements);
      tables.push(...transfer.tables);
      if (transfer.figure) figures.push(transfer.figure);
    }
    const checks = [
      scratchLearnsCheck(
        context.store,
        plan.filter((p) => p.condition === 'real/scratch'),
        10,
      ),
      ...SETTINGS.map((setting) =>
        pretrainingLearnsCheck(
          context.store,
          plan.filter((p) => p.condition === `upstream-${setting}`),
          s[setting].classes,
          `pre-training on random labels (${setting})`,
        ),
      ),
    ];
    return { measurements, figures, tables, checks, notes: [] };
  },
  claims: [
    {
      id: 'fig1.positive-real',
      source: '§1, §3 Fig. 1 (top left)',
      statement:
        'A network pre-trained on random labels can train faster on a disjoint downstream set with real labels than one trained from scratch, even after rescaling its weights.',
      paperValue: 'positive setting (few upstream classes): pre-trained above scratch',
      rule: fasterThan('real/positive', 'real/scratch'),
    },
    {
      id: 'fig1.positive-random',
      source: '§1, §3 Fig. 1 (bottom left)',
      statement: 'The speed-up also holds when the downstream labels are random.',
      paperValue: 'positive setting: pre-trained above scratch',
      rule: fasterThan('random/positive', 'random/scratch'),
    },
    {
      id: 'fig1.negative-real',
      source: '§1, §3 Fig. 1 (top right)',
      statement:
        'Later layers specialise to the upstream task and can hide this benefit, which gives negative transfer.',
      paperValue: 'negative setting (many upstream classes, longer training): pre-trained below scratch',
      rule: slowerThan('real/negative', 'real/scratch'),
    },
    {
      id: 'fig1.negative-random',
      source: '§3 Fig. 1 (bottom right)',
      statement: 'Negative transfer in the same setting with random downstream labels.',
      paperValue: 'negative setting: pre-trained below scratch',
      rule: slowerThan('random/negative', 'random/scratch'),
    },
  ],
};

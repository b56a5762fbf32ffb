/**
 * docs/paper.md §3 Fig. 1: VGG16 pre-trained on random labels of the upstream part, then trained on the
 * downstream part with real (top) or random (bottom) labels, against training from scratch; one setting
 * with positive transfer (few upstream classes, short pre-training) and one with negative transfer
 * (many upstream classes, longer pre-training).
 */
import { fasterThan, slowerThan } from '../../report/transfer.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { trainSpec } from '../train.js';
import {
  cifarAvailability,
  CIFAR10_CLASSES,
  pretrainingLearnsCheck,
  randomLabels,
  REAL_LABELS,
  runsOf,
  scratchLearnsCheck,
} from './common.js';
import { PAPER } from './paper-defaults.js';
import {
  CPU_TRANSFER_BATCH_SIZE,
  PAPER_TRANSFER_DATA,
  PAPER_TRANSFER_TRAINING,
  PAPER_UPSTREAM_IMAGES,
  SMOKE_CIFAR_TRANSFER,
} from './transfer-presets.js';
import {
  analyseTransfer,
  cifarTransferPhases,
  combineTransfers,
  fromUpstream,
  isPretraining,
  upstreamFit,
  type CifarTransferSettings,
} from './transfer.js';

/** One of the two pre-trainings on the upstream part (`upstreamImages` images): its random classes and epochs. */
interface UpstreamSetting {
  readonly classes: number;
  readonly epochs: number;
}

export interface Fig1Settings extends CifarTransferSettings {
  readonly widths: readonly number[];
  readonly batchNorm: boolean;
  readonly positive: UpstreamSetting;
  readonly negative: UpstreamSetting;
  readonly downstreamRandomClasses: number;
}

const paper: PresetTable<Fig1Settings> = {
  data: PAPER_TRANSFER_DATA,
  upstreamImages: PAPER_UPSTREAM_IMAGES,
  widths: { value: PAPER.fig1.vgg16Widths, why: 'docs/paper.md Fig. 1: the VGG16 conv stack' },
  batchNorm: { value: true, why: 'VGG16 with BatchNorm trains at He init' },
  positive: {
    value: { classes: PAPER.fig1.positiveClasses, epochs: 10 },
    why: 'docs/paper.md Fig. 1 [default]: positive setting, 5 upstream random classes',
  },
  negative: {
    value: { classes: PAPER.fig1.negativeClasses, epochs: 60 },
    why: 'docs/paper.md Fig. 1 [default]: negative setting, 50 upstream random classes, longer training',
  },
  downstreamRandomClasses: { value: CIFAR10_CLASSES, why: 'downstream random labels over 10 classes (Fig. 1 bottom)' },
  downstreamIterations: { value: 3_000, why: '[default] about 30 epochs of the downstream part' },
  batchSize: PAPER_TRANSFER_TRAINING.batchSize,
  lr: { value: PAPER.fig1.lr, why: 'docs/paper.md Fig. 1: learning rate around 1e-3' },
  evalEvery: { value: 100, why: '30 points of the training curve' },
  fixedIterations: { value: [...PAPER.fig5.fixedIterations, 3_000], why: 'as Fig. 5, and the end' },
};

const cpu: PresetTable<Fig1Settings> = {
  ...paper,
  data: {
    value: { source: 'train', downstream: 4_000, testSplit: null, testLimit: null, trainEvalLimit: 2_000 },
    why: 'VGG16 is expensive on 2 cores: a sixth of the paper’s downstream part',
  },
  upstreamImages: { value: 4_000, why: 'VGG16 is expensive on 2 cores: a fifth of the paper’s upstream part' },
  widths: {
    value: PAPER.fig1.vgg16Widths.map((w) => w / 8),
    why: 'the VGG16 layout at an eighth of the width (64× fewer operations), so the 24 runs took 16 min of CPU time (8.7 min wall) on 2 cores with 4- and 24-epoch pre-trainings (about 13 min wall estimated with 32 and 60)',
  },
  positive: {
    value: { classes: 5, epochs: 32 },
    why: 'few classes, pre-trained until it fits them, no longer: VGG16 at ⅛ width fit 5 random classes of 4 000 images to 0.94 after 25 epochs, 0.81–0.96 over the next 7',
  },
  negative: {
    value: { classes: 50, epochs: 60 },
    why: 'many classes, trained twice as long as fitting them takes (0.91 after 29 epochs), so the later layers specialise: the paper’s longer training',
  },
  downstreamIterations: { value: 600, why: 'about 19 epochs of the downstream part at batch 128' },
  batchSize: CPU_TRANSFER_BATCH_SIZE,
  lr: { value: 0.01, why: 'the thin network trains too slowly at 1e-3 within a few hundred steps' },
  evalEvery: { value: 50, why: '12 points of the training curve' },
  fixedIterations: { value: [200, 400, 600], why: 'thirds of the downstream run' },
};

const smoke: PresetTable<Fig1Settings> = {
  ...paper,
  ...SMOKE_CIFAR_TRANSFER,
  widths: { value: [8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 16], why: 'the VGG16 layout, very thin' },
  positive: { value: { classes: 5, epochs: 2 }, why: 'few classes, short pre-training' },
  negative: { value: { classes: 50, epochs: 4 }, why: 'many classes, longer' },
  lr: { value: 0.05, why: 'a larger step: the thin BatchNorm VGG16 learns within 48 steps' },
};

const SETTINGS = ['positive', 'negative'] as const;
type Setting = (typeof SETTINGS)[number];
const upstreamOf = (setting: Setting) => `upstream-${setting}`;
const DOWNSTREAM_LABELS = ['real', 'random'] as const;

export const fig1Vgg16Transfer: Recipe<Fig1Settings> = {
  name: 'fig1-vgg16-transfer',
  title: 'Fig. 1: transfer after pre-training VGG16 on random labels',
  paperReference: '§3 Fig. 1',
  description:
    'VGG16 (conv stack and one linear classifier) pre-trained on random labels of the upstream part in a positive setting (few classes, short) and a negative one (many classes, long); ' +
    'then rescaled to its initial norms with a new head and trained on the downstream part with real or random labels, against training from scratch.',
  defaultSeeds: { smoke: 2, cpu: 5, paper: 3 },
  seedsWhy: {
    cpu: 'sized from the last cpu run (3 seeds, with the shorter 4- and 24-epoch pre-trainings; docs/experiments.md): the negative setting’s differences (+0.098, sd 0.057; +0.216, sd 0.101) need 5 and 4 seeds for 80% power, about 40 min at ≈ 8 min a seed (estimated with the current pre-trainings); the positive setting’s (+0.011, sd 0.041; +0.047, sd 0.073) need 116 and 22, beyond the 2 h budget',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    return seeds.flatMap((seed) => {
      const phases = cifarTransferPhases(s, seed, { name: 'vgg16', widths: [...s.widths], batchNorm: s.batchNorm });
      const pretrain = (setting: Setting) =>
        trainSpec({
          condition: upstreamOf(setting),
          seed,
          config: phases.upstream(s[setting].classes, s[setting].epochs),
        });
      const upstream = { positive: pretrain('positive'), negative: pretrain('negative') };
      const downstream = (labels: (typeof DOWNSTREAM_LABELS)[number]) => {
        // Downstream random labels use their own stream seed, so they differ from the upstream ones.
        const config = phases.downstream(
          s.downstreamIterations,
          labels === 'real' ? REAL_LABELS : randomLabels(s.downstreamRandomClasses, seed + 1_000),
        );
        const dependsOn = [upstream.positive.id, upstream.negative.id];
        return [
          trainSpec({ condition: `${labels}/scratch`, seed, config, dependsOn }),
          ...SETTINGS.map((setting) =>
            trainSpec({ condition: `${labels}/${setting}`, seed, config: fromUpstream(config, upstream[setting].id) }),
          ),
        ];
      };
      return [upstream.positive, upstream.negative, ...DOWNSTREAM_LABELS.flatMap(downstream)];
    });
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    const { store } = context;
    const transfer = combineTransfers([
      ...DOWNSTREAM_LABELS.map((labels) =>
        analyseTransfer(
          store,
          plan.filter((p) => p.condition.startsWith(`${labels}/`)),
          {
            baseline: `${labels}/scratch`,
            fixedIterations: s.fixedIterations,
            what: `downstream train accuracy (${labels} labels)`,
            figureId: `downstream-${labels}`,
            figureTitle: `Downstream training accuracy, ${labels} labels`,
            caption: `Paper (Fig. 1 ${labels === 'real' ? 'top' : 'bottom'}): pre-trained above scratch in the positive setting, below it in the negative one.`,
            tableIdPrefix: `${labels}-`,
          },
        ),
      ),
      upstreamFit(store, plan.filter(isPretraining), CIFAR10_CLASSES),
    ]);
    const checks = [
      scratchLearnsCheck(store, runsOf(plan, 'real/scratch'), CIFAR10_CLASSES),
      ...SETTINGS.map((setting) =>
        pretrainingLearnsCheck(
          store,
          runsOf(plan, upstreamOf(setting)),
          s[setting].classes,
          `pre-training on random labels (${setting})`,
        ),
      ),
    ];
    return { ...transfer, checks, notes: [] };
  },
  claims: [
    {
      id: 'fig1.positive-real',
      source: '§1, §3 Fig. 1 (top left)',
      statement:
        'A network pre-trained on random labels can train faster on a disjoint downstream set with real labels than one trained from scratch, even after rescaling its weights.',
      paperValue: 'positive setting (few upstream classes): pre-trained above scratch',
      rule: fasterThan('real/positive', 'real/scratch', upstreamOf('positive')),
    },
    {
      id: 'fig1.positive-random',
      source: '§1, §3 Fig. 1 (bottom left)',
      statement: 'The speed-up also holds when the downstream labels are random.',
      paperValue: 'positive setting: pre-trained above scratch',
      rule: fasterThan('random/positive', 'random/scratch', upstreamOf('positive')),
    },
    {
      id: 'fig1.negative-real',
      source: '§1, §3 Fig. 1 (top right)',
      statement:
        'Later layers specialise to the upstream task and can hide this benefit, which gives negative transfer.',
      paperValue: 'negative setting (many upstream classes, longer training): pre-trained below scratch',
      rule: slowerThan('real/negative', 'real/scratch', upstreamOf('negative')),
    },
    {
      id: 'fig1.negative-random',
      source: '§3 Fig. 1 (bottom right)',
      statement: 'Negative transfer in the same setting with random downstream labels.',
      paperValue: 'negative setting: pre-trained below scratch',
      rule: slowerThan('random/negative', 'random/scratch', upstreamOf('negative')),
    },
  ],
};

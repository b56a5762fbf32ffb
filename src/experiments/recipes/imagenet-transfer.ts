/**
 * docs/paper.md §3 "ImageNet": the transfer protocol with ResNet18 on an ImageNet-style image folder
 * (here the Tiny-ImageNet subset): disjoint halves of the training images, random labels upstream,
 * real labels downstream, pre-trained (rescaled, new head) against scratch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fasterThan } from '../../report/transfer.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { imageFolderClasses } from './common.js';
import { PAPER } from './paper-defaults.js';
import { CPU_TRANSFER_BATCH_SIZE, PAPER_TRANSFER_TRAINING } from './transfer-presets.js';
import {
  analyseAgainstScratch,
  transferPhases,
  transferRuns,
  type TransferSplit,
  type TransferTraining,
  type UpstreamSettings,
} from './transfer.js';

/** The pre-training the transferred network starts from. */
const UPSTREAM = 'upstream';

export interface ImagenetSettings extends TransferTraining, UpstreamSettings {
  /** Folder under the data root in ImageFolder layout (train/, val/). */
  readonly folder: string;
  readonly size: number;
  /** Use the first n classes (sorted folder names); null for all. */
  readonly classes: number | null;
  readonly downstream: number;
  readonly testLimit: number | null;
  readonly widths: readonly number[];
}

const paper: PresetTable<ImagenetSettings> = {
  folder: {
    value: 'tiny-imagenet',
    why: 'any ImageFolder dataset; here the Tiny-ImageNet subset (200 classes × 60 train images, 64×64)',
  },
  size: { value: 64, why: 'Tiny-ImageNet’s native size' },
  classes: { value: null, why: 'all 200 classes' },
  upstreamImages: {
    value: 6_000,
    why: 'disjoint halves of the 12 000 training images (docs/paper.md: halves of the train set)',
  },
  downstream: { value: 6_000, why: 'the other half' },
  testLimit: { value: null, why: 'all validation images' },
  widths: { value: [64, 128, 256, 512], why: 'ResNet18' },
  upstreamClasses: {
    value: PAPER.imagenet.upstreamClasses,
    why: 'docs/paper.md ImageNet: 1000 random classes upstream',
  },
  upstreamEpochs: { value: 30, why: '[default]' },
  ...PAPER_TRANSFER_TRAINING,
};

const cpu: PresetTable<ImagenetSettings> = {
  ...paper,
  classes: {
    value: 100,
    why: 'the first 100 classes (6 000 training images): the recipe took 15.4 min of CPU time (8.2 min wall) on 2 cores',
  },
  upstreamImages: { value: 3_000, why: 'halves of the 6 000 images' },
  downstream: { value: 3_000, why: 'the other half' },
  testLimit: { value: 2_000, why: '2 000 validation images' },
  widths: { value: [32, 64, 128, 256], why: 'ResNet18 at half width (a quarter of the operations) at 64 px' },
  upstreamClasses: { value: 100, why: 'as many random classes as real ones at this size' },
  upstreamEpochs: {
    value: 8,
    why: 'long enough to memorise its random labels, the paper’s regime: final training accuracy 0.999–1.000 in the cpu run (docs/experiments.md)',
  },
  downstreamIterations: { value: 200, why: 'about 8 epochs of the downstream half at batch 128' },
  batchSize: CPU_TRANSFER_BATCH_SIZE,
  evalEvery: { value: 20, why: '10 points of the training curve' },
  fixedIterations: { value: [100, 200], why: 'half-way and end' },
};

const smoke: PresetTable<ImagenetSettings> = {
  ...paper,
  size: { value: 32, why: 'small images' },
  classes: { value: 5, why: 'five classes (300 images): decoding and training take seconds' },
  upstreamImages: { value: 150, why: 'half of the images' },
  downstream: { value: 150, why: 'the other half' },
  testLimit: { value: 100, why: 'a quick validation score' },
  widths: { value: [8, 8, 16, 16], why: 'a very thin ResNet18' },
  upstreamClasses: { value: 5, why: 'a few random classes, so 150 images can be partly memorised in a short run' },
  upstreamEpochs: { value: 8, why: 'a short pre-training that memorises part of the random labels' },
  downstreamIterations: { value: 36, why: 'enough steps for scratch to learn above chance' },
  batchSize: { value: 25, why: 'six steps per epoch' },
  lr: { value: 0.02, why: 'a larger step for the short run' },
  evalEvery: { value: 6, why: 'six points of the training curve' },
  fixedIterations: { value: [18, 36], why: 'half-way and end' },
};

/** Disjoint parts of the chosen classes' train/ images; val/ is held out from both and scores the downstream runs. */
function imageFolderSplit(s: ImagenetSettings, dataRoot: string): TransferSplit {
  const chosen = s.classes === null ? null : imageFolderClasses(dataRoot, s.folder).slice(0, s.classes);
  return {
    dataset: `imagefolder:${s.folder},size=${s.size}${chosen ? `,classes=${chosen.join('+')}` : ''}`,
    trainSplit: 'train',
    upstream: s.upstreamImages,
    downstream: s.downstream,
    testSplit: 'val',
    testLimit: s.testLimit,
  };
}

export const imagenetTransfer: Recipe<ImagenetSettings> = {
  name: 'imagenet-transfer',
  title: 'ImageNet-style transfer: ResNet18 on an image folder',
  paperReference: '§3 ImageNet',
  description:
    'The transfer protocol on an ImageFolder dataset (Tiny-ImageNet here): ResNet18 (ImageNet stem) pre-trained on random labels of one half of the training images, ' +
    'then rescaled with a new head and trained on the other half with real labels, against training from scratch.',
  defaultSeeds: { smoke: 2, cpu: 3, paper: 3 },
  seedsWhy: {
    cpu: 'its claim was decided at 3 seeds in the last cpu run',
  },
  scales: { smoke, cpu, paper },
  available(dataRoot) {
    const train = join(dataRoot, scaleSettings(this, 'smoke').folder, 'train');
    if (existsSync(train)) return { ok: true };
    return { ok: false, reason: `no image folder ${train} (ImageFolder layout: train/<class>/*.JPEG, val/<class>/…)` };
  },
  plan(scale, seeds, dataRoot) {
    const s = scaleSettings(this, scale);
    const split = imageFolderSplit(s, dataRoot);
    return seeds.flatMap((seed) => {
      const model = { name: 'resnet18' as const, widths: [...s.widths], variant: 'imagenet' as const };
      const runs = transferRuns(transferPhases({ seed, model, training: s, split }), s, {
        upstream: { condition: UPSTREAM },
      });
      return [runs.upstream, runs.fresh('scratch'), runs.transferred('pretrained')];
    });
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    return analyseAgainstScratch(context.store, plan, {
      fixedIterations: s.fixedIterations,
      figureTitle: 'Downstream training accuracy (ResNet18, image folder)',
      caption: 'Pre-trained on random labels of the other half, rescaled, new head; against scratch.',
      classes: s.classes ?? imageFolderClasses(context.dataRoot, s.folder).length,
    });
  },
  claims: [
    {
      id: 'imagenet.pretrained-beats-scratch',
      source: '§3 ImageNet; §1',
      statement:
        'Same protocol on an ImageNet-style image folder (ResNet18, disjoint halves, random upstream classes): pre-training on random labels speeds up downstream training.',
      paperValue: 'pre-trained above scratch',
      rule: fasterThan('pretrained', 'scratch', UPSTREAM),
    },
  ],
};

/**
 * docs/paper.md §3 "ImageNet": the transfer protocol with ResNet18 on an ImageNet-style image folder
 * (here the Tiny-ImageNet subset): disjoint halves of the training images, random labels upstream,
 * real labels downstream, pre-trained (rescaled, new head) against scratch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LabelSpec } from '../../data/labels.js';
import type { RunConfigInput } from '../../runs/config.js';
import { scaleSettings, type PresetTable, type Recipe, type RunSpec } from '../recipe.js';
import { trainSpec } from '../train.js';
import { baseRunConfig, imageFolderClasses, learnsCheck, randomLabels, REAL_LABELS } from './common.js';
import { analyseTransfer, downstreamCurves } from './transfer.js';

export interface ImagenetSettings {
  /** Folder under the data root in ImageFolder layout (train/, val/). */
  readonly folder: string;
  readonly size: number;
  /** Use the first n classes (sorted folder names); null for all. */
  readonly classes: number | null;
  readonly upstream: number;
  readonly downstream: number;
  readonly testLimit: number | null;
  readonly widths: readonly number[];
  readonly upstreamClasses: number;
  readonly upstreamEpochs: number;
  readonly downstreamIterations: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
  readonly fixedIterations: readonly number[];
}

const paper: PresetTable<ImagenetSettings> = {
  folder: { value: 'tiny-imagenet', why: 'any ImageFolder dataset; here the Tiny-ImageNet subset (200 classes × 60 train images, 64×64)' },
  size: { value: 64, why: 'Tiny-ImageNet’s native size' },
  classes: { value: null, why: 'all 200 classes' },
  upstream: { value: 6_000, why: 'disjoint halves of the 12 000 training images (docs/paper.md: halves of the train set)' },
  downstream: { value: 6_000, why: 'the other half' },
  testLimit: { value: null, why: 'all validation images' },
  widths: { value: [64, 128, 256, 512], why: 'ResNet18' },
  upstreamClasses: { value: 1_000, why: 'docs/paper.md ImageNet: 1000 random classes upstream' },
  upstreamEpochs: { value: 30, why: '[default]' },
  downstreamIterations: { value: 2_000, why: 'as Fig. 5' },
  batchSize: { value: 256, why: 'docs/paper.md §3 Optimiser' },
  lr: { value: 0.01, why: 'docs/paper.md §3 Optimiser' },
  evalEvery: { value: 100, why: '20 points of the training curve' },
  fixedIterations: { value: [1_000, 2_000], why: 'as Fig. 5' },
};

const cpu: PresetTable<ImagenetSettings> = {
  ...paper,
  size: { value: 64, why: 'Tiny-ImageNet’s native size' },
  classes: { value: null, why: 'all 200 classes (12 000 training images)' },
  upstream: { value: 6_000, why: 'halves of the 12 000 images' },
  downstream: { value: 6_000, why: 'the other half' },
  testLimit: { value: 2_000, why: '2 000 validation images' },
  widths: { value: [64, 128, 256, 512], why: 'ResNet18 (it fits the budget at 64 px on 12 000 images)' },
  upstreamClasses: { value: 200, why: 'as many random classes as real ones at this size' },
  upstreamEpochs: { value: 10, why: 'a short pre-training' },
  downstreamIterations: { value: 600, why: 'about 13 epochs of the downstream half at batch 128' },
  batchSize: { value: 128, why: 'more steps on the smaller parts' },
  evalEvery: { value: 50, why: '12 points of the training curve' },
  fixedIterations: { value: [300, 600], why: 'half-way and end' },
};

const smoke: PresetTable<ImagenetSettings> = {
  ...paper,
  size: { value: 32, why: 'small images' },
  classes: { value: 5, why: 'five classes (300 images): decoding and training take seconds' },
  upstream: { value: 150, why: 'half of the images' },
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

function datasetSpec(s: ImagenetSettings, dataRoot: string): string {
  const all = imageFolderClasses(dataRoot, s.folder);
  const chosen = s.classes === null ? null : all.slice(0, s.classes);
  return `imagefolder:${s.folder},size=${s.size}${chosen ? `,classes=${chosen.join('+')}` : ''}`;
}

export const imagenetTransfer: Recipe<ImagenetSettings> = {
  name: 'imagenet-transfer',
  title: 'ImageNet-style transfer: ResNet18 on an image folder',
  paperReference: '§3 ImageNet',
  description:
    'The transfer protocol on an ImageFolder dataset (Tiny-ImageNet here): ResNet18 (ImageNet stem) pre-trained on random labels of one half of the training images, ' +
    'then rescaled with a new head and trained on the other half with real labels, against training from scratch.',
  defaultSeeds: { smoke: 2, cpu: 3, paper: 3 },
  scales: { smoke, cpu, paper },
  available(dataRoot) {
    const folder = scaleSettings(this, 'smoke').folder;
    if (existsSync(join(dataRoot, folder, 'train'))) return { ok: true };
    return { ok: false, reason: `no image folder ${join(dataRoot, folder, 'train')} (ImageFolder layout: train/<class>/*.JPEG, val/<class>/…)` };
  },
  plan(scale, seeds, dataRoot) {
    const s = scaleSettings(this, scale);
    const dataset = datasetSpec(s, dataRoot);
    const plan: RunSpec[] = [];
    for (const seed of seeds) {
      const common = baseRunConfig({ seed, model: { name: 'resnet18', widths: [...s.widths], variant: 'imagenet' }, lr: s.lr, evalEvery: s.evalEvery });
      const data = (use: 'upstream' | 'downstream', labels: LabelSpec) => ({
        dataset,
        trainSplit: 'train',
        split: { seed, parts: { upstream: s.upstream, downstream: s.downstream }, use },
        labels,
        testSplit: 'val',
        testLimit: s.testLimit,
      });
      const upstream = trainSpec({ condition: 'upstream', seed, config: { ...common, data: data('upstream', randomLabels(s.upstreamClasses, seed)), training: { batchSize: s.batchSize, epochs: s.upstreamEpochs } } });
      const downstream: RunConfigInput = { ...common, data: data('downstream', REAL_LABELS), training: { batchSize: s.batchSize, iterations: s.downstreamIterations } };
      plan.push(
        upstream,
        trainSpec({ condition: 'scratch', seed, config: downstream, dependsOn: [upstream.id] }),
        trainSpec({ condition: 'pretrained', seed, config: { ...downstream, init: { from: { run: upstream.id, rescale: true, reinitHead: true } } } }),
      );
    }
    return plan;
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    const transfer = analyseTransfer(downstreamCurves(context.store, plan.filter((p) => p.condition !== 'upstream')), {
      baseline: 'scratch',
      fixedIterations: s.fixedIterations,
      what: 'downstream train accuracy (real labels)',
      figureId: 'downstream-curves',
      figureTitle: 'Downstream training accuracy (ResNet18, image folder)',
      caption: 'Pre-trained on random labels of the other half, rescaled, new head; against scratch.',
    });
    const classes = s.classes ?? imageFolderClasses(context.dataRoot, s.folder).length;
    const checks = [
      learnsCheck(context.store, plan.filter((p) => p.condition === 'scratch'), classes, 0.1, 'training from scratch on real labels'),
      learnsCheck(context.store, plan.filter((p) => p.condition === 'upstream'), s.upstreamClasses, 0.02, 'pre-training on random labels', false),
    ];
    return { measurements: transfer.measurements, figures: transfer.figure ? [transfer.figure] : [], tables: transfer.tables, checks, notes: [] };
  },
};

/**
 * Is random-label pre-training just worse real-label pre-training? The transfer protocol of docs/paper.md §3
 * with Fig. 5's 2-layer CNN, pre-trained on the same upstream images and init once with their real labels
 * (randlab's own arm: the paper pre-trains on random labels only) and once with random labels, against scratch.
 */
import { fasterThan } from '../../report/transfer.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { cifarAvailability, CIFAR10_CLASSES } from './common.js';
import { PAPER } from './paper-defaults.js';
import {
  CPU_CIFAR_TRANSFER,
  PAPER_CNN2_UPSTREAM,
  PAPER_TRANSFER_DATA,
  PAPER_TRANSFER_TRAINING,
  SMOKE_CIFAR_TRANSFER,
} from './transfer-presets.js';
import {
  analyseAgainstScratch,
  cifarTransferPhases,
  transferRuns,
  type CifarTransferSettings,
  type UpstreamSettings,
} from './transfer.js';

export interface RealVsRandomSettings extends CifarTransferSettings, UpstreamSettings {
  readonly widths: readonly [number, number];
}

/** The two pre-trainings, on the same upstream images from the same init. */
const UPSTREAM = { random: 'upstream-random-labels', real: 'upstream-real-labels' } as const;

const paper: PresetTable<RealVsRandomSettings> = {
  data: PAPER_TRANSFER_DATA,
  widths: { value: PAPER.cnn2.widths, why: 'the 2-layer CNN of Fig. 5 (docs/paper.md §3 Fig. 2)' },
  initScale: { value: PAPER.cnn2.initScale, why: 'docs/paper.md §3 Init [default 0.3 for cnn2]' },
  ...PAPER_CNN2_UPSTREAM,
  upstreamClasses: { value: CIFAR10_CLASSES, why: 'as many random classes as real ones: only the labels differ' },
  ...PAPER_TRANSFER_TRAINING,
};

const cpu: PresetTable<RealVsRandomSettings> = {
  ...paper,
  ...CPU_CIFAR_TRANSFER,
  widths: {
    value: [64, 32],
    why: '¼ of the conv filters, ½ the FC width: the 15 runs took 4.8 min wall on 2 cores with 400-step pre-trainings (about 7 min estimated with the 800-step ones)',
  },
  upstreamEpochs: {
    value: 40,
    why: 'long enough for the random-label pre-training to fit its labels to ≥ 0.9, the paper’s regime: cnn2 64/32 on 2 500 images reached 0.91 after 27 and 28 epochs (seeds 0, 1), 0.95 after 32',
  },
};

const smoke: PresetTable<RealVsRandomSettings> = {
  ...paper,
  ...SMOKE_CIFAR_TRANSFER,
  widths: { value: [32, 32], why: 'narrow: the whole recipe runs in seconds' },
  upstreamEpochs: {
    value: 4,
    why: 'a short pre-training: the smoke scale checks that the recipe runs end to end, not the paper’s regime',
  },
};

export const realVsRandomPretraining: Recipe<RealVsRandomSettings> = {
  name: 'real-vs-random-pretraining',
  title: 'Pre-training on real labels vs on random labels vs scratch (2-layer CNN, CIFAR-10)',
  paperReference: '§3 Protocol for transfer; real labels upstream: randlab’s own',
  description:
    'The 2-layer CNN is pre-trained on the upstream part twice from the same init, with its real labels and with random labels; ' +
    'each is rescaled to its initial norms with a new head and trained on the downstream part with real labels, against scratch.',
  defaultSeeds: { smoke: 2, cpu: 6, paper: 5 },
  seedsWhy: {
    cpu: 'sized from the last cpu run (3 seeds, 10-epoch pre-training): random-label pre-training − scratch, −0.23 with sd 0.15, needs 6 seeds for 80% power: about 15 min at ≈ 2.5 min a seed (the current 40-epoch pre-training, estimated)',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    return seeds.flatMap((seed) => {
      const phases = cifarTransferPhases(s, seed, { name: 'cnn2', widths: [...s.widths] });
      const random = transferRuns(phases, s, { upstream: { condition: UPSTREAM.random } });
      const real = transferRuns(phases, s, { upstream: { condition: UPSTREAM.real, labels: 'real' } });
      const pretrained = [random.transferred('random-labels'), real.transferred('real-labels')];
      return [random.upstream, real.upstream, random.fresh('scratch'), ...pretrained];
    });
  },
  async analyze({ scale, plan, context }) {
    return analyseAgainstScratch(context.store, plan, {
      fixedIterations: scaleSettings(this, scale).fixedIterations,
      figureTitle: 'Downstream training accuracy after pre-training on real or random labels',
      caption: 'Both pre-trainings on the same upstream images, rescaled, new head; against scratch.',
    });
  },
  claims: [
    {
      id: 'labels.real-beats-scratch',
      source: 'randlab’s own: docs/paper.md (§1, §3) pre-trains on random labels only',
      statement: 'Pre-trained on real labels and rescaled (new head), the network trains faster than from scratch.',
      paperValue: 'not in the paper; expected of ordinary supervised pre-training: faster than scratch',
      rule: fasterThan('real-labels', 'scratch', UPSTREAM.real),
    },
    {
      id: 'labels.random-beats-scratch',
      source: '§1; §3 Fig. 5',
      statement: 'Pre-trained on random labels and rescaled (new head), it trains faster than scratch, as in Fig. 5.',
      paperValue: 'Fig. 5 (this CNN): ≈0.76/0.87 > scratch ≈0.68/0.79; §1: later layers’ specialisation can hide it',
      rule: fasterThan('random-labels', 'scratch', UPSTREAM.random),
    },
  ],
};

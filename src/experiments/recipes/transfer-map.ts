/**
 * When does random-label pre-training help? docs/paper.md §1 says the first layer's alignment speeds up
 * downstream training while later layers' specialisation can hide it (negative transfer), and §3 Fig. 1
 * names the knob: the number of upstream random classes and the length of pre-training. This recipe maps
 * it on the transfer protocol (§3) with Fig. 5's 2-layer CNN: a grid of pre-training lengths × numbers of
 * random classes K; at every point and seed the pre-training, a downstream run pre-trained and rescaled
 * (new head) and one whose first layer is sampled from the pre-trained Σ_w (Fig. 5 "covariance"); one
 * scratch run per seed, shared by all points. Per point: both AUC differences with scratch, paired by
 * seed, and how far the pre-training fit its random labels.
 */
import { allOf, meanBeyond, operand, pairedDirection } from '../../report/rules.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { trainSpec } from '../train.js';
import { cifarAvailability, CIFAR10_CLASSES } from './common.js';
import { covarianceInitializer } from './initializers.js';
import { PAPER } from './paper-defaults.js';
import {
  CPU_CIFAR_TRANSFER,
  PAPER_TRANSFER_DATA,
  PAPER_TRANSFER_TRAINING,
  PAPER_UPSTREAM_IMAGES,
  SMOKE_CIFAR_TRANSFER,
} from './transfer-presets.js';
import { cifarTransferPhases, transferRuns, type CifarTransferSettings } from './transfer.js';
import {
  analyseTransferMap,
  CONDITIONS,
  LITTLE_FIT,
  MAP_METRICS,
  MEMORISED_FIT,
  pointName,
  POOLED,
  transferGrid,
  withPooledFit,
} from './transfer-map-analysis.js';

export interface TransferMapSettings extends CifarTransferSettings {
  readonly widths: readonly [number, number];
  readonly initScale: number;
  /** The grid: every length of pre-training (epochs) with every number of random classes. */
  readonly upstreamEpochs: readonly number[];
  readonly upstreamClasses: readonly number[];
  readonly rescaleSampled: boolean;
}

const paper: PresetTable<TransferMapSettings> = {
  data: PAPER_TRANSFER_DATA,
  upstreamImages: PAPER_UPSTREAM_IMAGES,
  widths: { value: PAPER.cnn2.widths, why: 'the 2-layer CNN of Fig. 5 (docs/paper.md §3 Fig. 2: conv 256 3×3, FC 64)' },
  initScale: { value: PAPER.cnn2.initScale, why: 'docs/paper.md §3 Init [default 0.3 for cnn2]' },
  upstreamEpochs: {
    value: PAPER.fig4.epochs,
    why: 'the lengths at which the paper reads f of this CNN (Fig. 4: 5, 10, 20, 40 epochs; 40 is Fig. 2’s length); whether 40 epochs memorise 20k random labels at this width is not measured: the informative check reports it',
  },
  upstreamClasses: {
    value: [PAPER.fig1.positiveClasses, CIFAR10_CLASSES, PAPER.fig1.negativeClasses],
    why: 'Fig. 1’s knob [default]: 5 classes (positive transfer) and 50 (negative), with CIFAR-10’s 10 between',
  },
  ...PAPER_TRANSFER_TRAINING,
  rescaleSampled: {
    value: true,
    why: 'as fig5-controls: the sampled first layer is rescaled to the fresh layer’s norm, so scale cannot explain a speed-up',
  },
};

// Measured on the 2-core machine (6 Dec 2026, load average 10–15 from other work, so CPU time is the measure):
// an upstream step of cnn2 64/64 at batch 128 with its evaluations took 78–88 ms of CPU time (800-step runs:
// 62.3, 67.6, 70.0 s for K = 5, 10, 50), a 300-step downstream run 26.4–27.8 s (88–93 ms a step).
const cpu: PresetTable<TransferMapSettings> = {
  ...paper,
  ...CPU_CIFAR_TRANSFER,
  upstreamImages: {
    value: 2_500,
    why: '2 500 upstream images (20 steps an epoch), so the longest pre-training memorises 50 random classes; 5 000 downstream as the other cpu transfer recipes',
  },
  widths: {
    value: [64, 64],
    why: 'the paper’s FC width (the later layer that specialises) and ¼ of its conv filters (64 filter vectors for Σ_w of 27 dimensions); cnn2 64/32 on 5 000 images fit 50 random classes only to 0.61 after 60 epochs',
  },
  upstreamEpochs: {
    value: [2, 5, 10, 20, 40],
    why: 'from fitting little to memorising: measured (seed 0), training accuracy on the random labels first ≥ 0.9 after 16.25, 20, 22.5 epochs for K = 5, 10, 50 and ≥ 0.998 for all three from 27.5 epochs on; after 2.5 epochs it was 0.27, 0.16, 0.04. The 138 runs (3 seeds) take ≈ 70 min of CPU time by the step times above',
  },
};

const smoke: PresetTable<TransferMapSettings> = {
  ...paper,
  ...SMOKE_CIFAR_TRANSFER,
  widths: { value: [32, 32], why: 'narrow: the whole recipe runs in seconds' },
  upstreamEpochs: {
    value: [1, 20],
    why: 'a 2×2 grid: 1 epoch (6 steps) fits little of the random labels; 20 epochs (120 steps) memorise the 300 images’ labels (measured, seed 0: ≥ 0.9 from step 56 for K = 5 and step 96 for K = 50, 1.00 at the end)',
  },
  upstreamClasses: { value: [5, 50], why: 'the two ends of Fig. 1’s knob' },
};

export const transferMap: Recipe<TransferMapSettings> = {
  name: 'transfer-map',
  title: 'When does random-label pre-training help? A map over upstream length × random classes (2-layer CNN)',
  paperReference: '§1; §3 Fig. 1 (the knob), Fig. 5 (the controls), Specialisation',
  description:
    'The 2-layer CNN is pre-trained on random labels of the upstream part for every length (epochs) and number of random classes K of a grid; ' +
    'from each pre-training, one downstream run is pre-trained and rescaled to the initial norms with a new head, and one has its first layer sampled from N(0, Σ_w) of the pre-trained first layer (other layers fresh). ' +
    'One scratch run per seed, shared by all grid points, is the baseline: each grid point’s AUC of the downstream training-accuracy curve minus scratch’s, paired by seed, ' +
    'next to how far the pre-training fit its random labels (its final training accuracy, chance 1/K).',
  defaultSeeds: { smoke: 2, cpu: 4, paper: 5 },
  seedsWhy: {
    cpu: 'sized from the cpu run of 2026-12-06 (3 seeds, ≈ 70 min of CPU): the pooled claim that memorising pre-trainings train slower than scratch (−0.046) needs 4 seeds for 80% power, about 95 min of CPU; the other pooled claims were decided at 3',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    const grid = transferGrid(s.upstreamEpochs, s.upstreamClasses);
    return seeds.flatMap((seed) => {
      const phases = cifarTransferPhases(s, seed, { name: 'cnn2', widths: [...s.widths] });
      // The same downstream data, init and seed as every grid point's downstream runs: one baseline per seed.
      const scratch = trainSpec({
        condition: CONDITIONS.scratch,
        seed,
        config: phases.downstream(s.downstreamIterations),
      });
      const points = grid.flatMap((point) => {
        const lengths = {
          upstreamClasses: point.classes,
          upstreamEpochs: point.epochs,
          downstreamIterations: s.downstreamIterations,
        };
        const runs = transferRuns(phases, lengths, { prefix: `${pointName(point)}/` });
        const sampled = covarianceInitializer({ sourceRun: runs.upstream.id, seed, rescale: s.rescaleSampled });
        return [runs.upstream, runs.transferred('pretrained'), runs.fresh('covariance', sampled)];
      });
      return [scratch, ...points];
    });
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    return analyseTransferMap(context.store, plan, {
      grid: transferGrid(s.upstreamEpochs, s.upstreamClasses),
      fixedIterations: s.fixedIterations,
    });
  },
  claims: [
    {
      id: 'map.memorised-pretrained-faster',
      source: '§1, §3 Fig. 1 and Fig. 5 (randlab’s reading: the fit of pre-training decides the sign)',
      statement:
        `Where the pre-training memorised its random labels (mean final training accuracy ≥ ${MEMORISED_FIT}), ` +
        `pre-trained and rescaled (new head) trains faster than scratch: per seed, the mean over those grid points of ` +
        `AUC(pretrained) − AUC(scratch) (condition '${POOLED.memorised}').`,
      paperValue: 'positive transfer (Fig. 5: pre-trained ≈0.76/0.87 > scratch ≈0.68/0.79 at ~1000/~2000 iterations)',
      rule: withPooledFit(meanBeyond(operand(POOLED.memorised, MAP_METRICS.gainPretrained), 'above', 0), [
        POOLED.memorised,
      ]),
    },
    {
      id: 'map.little-fit-pretrained-slower',
      source: '§1 (specialisation hides the benefit), §3 Fig. 1 (negative transfer)',
      statement:
        `Where the pre-training fit little of its random labels (mean final training accuracy ≤ ${LITTLE_FIT}), ` +
        `pre-trained and rescaled trains more slowly than scratch: per seed, the mean over those grid points of ` +
        `AUC(pretrained) − AUC(scratch) (condition '${POOLED.fitsLittle}').`,
      paperValue: 'negative transfer exists (Fig. 1 right); the paper does not tie it to the fit of pre-training',
      rule: withPooledFit(meanBeyond(operand(POOLED.fitsLittle, MAP_METRICS.gainPretrained), 'below', 0), [
        POOLED.fitsLittle,
      ]),
    },
    {
      id: 'map.memorised-covariance-faster',
      source: '§3 Fig. 5 ("covariance"), §2 Covariance initialisation',
      statement:
        `Where the pre-training memorised its random labels, a first layer sampled from N(0, Σ_w) of the pre-trained ` +
        `first layer (other layers fresh) trains faster than scratch: the mean over those grid points of ` +
        `AUC(covariance) − AUC(scratch), per seed.`,
      paperValue: 'covariance ≈0.76/0.87 > scratch ≈0.68/0.79 (Fig. 5)',
      rule: withPooledFit(meanBeyond(operand(POOLED.memorised, MAP_METRICS.gainCovariance), 'above', 0), [
        POOLED.memorised,
      ]),
    },
    {
      id: 'map.covariance-escapes-specialisation',
      source: '§1 (later layers specialise and can hide the benefit), §3 Specialisation',
      statement:
        'Where the pre-training fit little of its random labels, the covariance-sampled first layer (later layers fresh) ' +
        'gains more over scratch than the whole pre-trained network: per seed, the mean over those grid points of ' +
        'AUC(covariance) − AUC(scratch) exceeds that of AUC(pretrained) − AUC(scratch).',
      paperValue: 'direction implied by §1: only the later layers carry the specialisation',
      rule: withPooledFit(
        pairedDirection(
          operand(POOLED.fitsLittle, MAP_METRICS.gainCovariance),
          operand(POOLED.fitsLittle, MAP_METRICS.gainPretrained),
          'greater',
        ),
        [POOLED.fitsLittle],
      ),
    },
    {
      id: 'map.fig1-knob',
      source: '§3 Fig. 1',
      statement:
        'Few random classes with short pre-training give positive transfer, many classes with long pre-training give ' +
        `negative transfer: AUC(pretrained) − AUC(scratch) at the grid point with the fewest classes and the shortest ` +
        `pre-training ('${POOLED.fig1Positive}') and at the one with the most classes and the longest ('${POOLED.fig1Negative}').`,
      paperValue: 'positive at 5 classes, negative at 50 classes with longer training (Fig. 1 left / right)',
      rule: withPooledFit(
        allOf(
          meanBeyond(operand(POOLED.fig1Positive, MAP_METRICS.gainPretrained), 'above', 0),
          meanBeyond(operand(POOLED.fig1Negative, MAP_METRICS.gainPretrained), 'below', 0),
        ),
        [POOLED.fig1Positive, POOLED.fig1Negative],
      ),
    },
  ],
};

/**
 * docs/paper.md §3 "Specialisation / negative transfer": with many upstream random classes and long
 * pre-training, later layers specialise to the upstream task. Per layer, on a fixed probe batch of
 * downstream images, the fraction of positive post-ReLU activations and of dead units are tracked
 * through the switch to the downstream task; the later layer is widened ×1, ×2, ×4 to see whether
 * the negative transfer goes away.
 */
import { createActivityProbe } from '../../analysis/index.js';
import type { RunConfigInput } from '../../runs/config.js';
import { bandChart } from '../../report/charts.js';
import { allOf, meanBeyond, operand, pairedDirection } from '../../report/rules.js';
import { AUC_METRIC, slowerThan, withUpstreamFit } from '../../report/transfer.js';
import type { Measurement } from '../../report/types.js';
import { scaleSettings, type PresetTable, type Recipe } from '../recipe.js';
import { isFinished, readCurve, type ProbeFactory } from '../train.js';
import {
  cifarAvailability,
  CIFAR10_CLASSES,
  measurementsOf,
  pretrainingLearnsCheck,
  runData,
  scratchLearnsCheck,
} from './common.js';
import { PAPER } from './paper-defaults.js';
import {
  CPU_CIFAR_TRANSFER,
  PAPER_TRANSFER_DATA,
  PAPER_TRANSFER_TRAINING,
  PAPER_UPSTREAM_IMAGES,
  SMOKE_CIFAR_TRANSFER,
} from './transfer-presets.js';
import {
  analyseTransfer,
  cifarTransferPhases,
  combineTransfers,
  transferRuns,
  upstreamFit,
  type CifarTransferSettings,
  type UpstreamSettings,
} from './transfer.js';

export interface SpecialisationSettings extends CifarTransferSettings, UpstreamSettings {
  readonly filters: number;
  readonly hidden: number;
  readonly multipliers: readonly number[];
  readonly initScale: number;
  readonly probeExamples: number;
  readonly probeEvery: number;
}

const paper: PresetTable<SpecialisationSettings> = {
  data: PAPER_TRANSFER_DATA,
  upstreamImages: PAPER_UPSTREAM_IMAGES,
  filters: { value: PAPER.cnn2.widths[0], why: 'the 2-layer CNN of Fig. 2' },
  hidden: { value: PAPER.cnn2.widths[1], why: 'FC 64 of Fig. 2, the later layer that is widened' },
  multipliers: { value: PAPER.specialisation.widthMultipliers, why: 'docs/paper.md: widening the later layers ×2, ×4' },
  initScale: { value: PAPER.cnn2.initScale, why: 'docs/paper.md §3 Init: 0.3 for cnn2' },
  upstreamClasses: {
    value: PAPER.fig1.negativeClasses,
    why: 'docs/paper.md Fig. 1 negative setting [default]: 50 upstream random classes, longer training',
  },
  upstreamEpochs: { value: 60, why: '[default] long pre-training, so the later layer specialises' },
  downstreamIterations: PAPER_TRANSFER_TRAINING.downstreamIterations,
  batchSize: PAPER_TRANSFER_TRAINING.batchSize,
  lr: PAPER_TRANSFER_TRAINING.lr,
  evalEvery: PAPER_TRANSFER_TRAINING.evalEvery,
  probeExamples: { value: 512, why: 'fixed probe batch of downstream images' },
  probeEvery: { value: 50, why: 'activity every 50 steps' },
  fixedIterations: PAPER_TRANSFER_TRAINING.fixedIterations,
};

const cpu: PresetTable<SpecialisationSettings> = {
  ...paper,
  ...CPU_CIFAR_TRANSFER,
  upstreamImages: {
    value: 2_500,
    why: 'a small upstream part: 50 random classes are memorised faster on fewer images, as the paper’s long pre-training memorises them',
  },
  filters: {
    value: 32,
    why: 'an eighth of the conv filters keeps the ×4 network affordable (its FC layer is filters × 900 × hidden): the recipe took 10.4 min of CPU time (6.1 min wall) on 2 cores',
  },
  upstreamEpochs: {
    value: 30,
    why: 'long, so the later layer specialises: every pre-training fit its 50 random classes to ≥ 0.999 in the cpu run (docs/experiments.md), the paper’s regime',
  },
  evalEvery: { value: 20, why: '16 points of the training curve' },
  probeEvery: { value: 20, why: 'activity every 20 steps' },
  probeExamples: { value: 256, why: 'fixed probe batch' },
};

const smoke: PresetTable<SpecialisationSettings> = {
  ...paper,
  ...SMOKE_CIFAR_TRANSFER,
  filters: { value: 16, why: 'narrow' },
  hidden: { value: 16, why: 'narrow; ×4 gives 64' },
  upstreamEpochs: {
    value: 5,
    why: 'a short pre-training: the smoke scale checks that the recipe runs end to end, not the paper’s regime',
  },
  probeExamples: { value: 64, why: 'a small probe batch' },
  probeEvery: { value: 6, why: 'activity every epoch' },
};

/** The pre-training of the network whose hidden layer is `m` times as wide (transferRuns' default condition). */
const upstreamAt = (m: number) => `x${m}/upstream`;

const FIRST = 'conv1';
const LAST = 'fc1';
const positive = (layer: string) => `activity/${layer}/positive_fraction`;

function activityProbe(downstreamConfig: RunConfigInput, examples: number, every: number): ProbeFactory {
  return {
    describe: { probe: 'activity', examples, every },
    async create(context) {
      const data = await runData(downstreamConfig, context);
      const count = Math.min(examples, data.train.n);
      const inputs = data.preprocessor.applyToIndices(
        data.train,
        Int32Array.from({ length: count }, (_, i) => i),
      );
      return createActivityProbe({ inputs, shape: [count, ...data.inputShape], every });
    },
  };
}

/** transfer-gain per seed at width ×m: AUC of the pre-trained network minus AUC of scratch. */
function transferGains(measurements: readonly Measurement[], m: number): Measurement[] {
  const auc = (condition: string) =>
    new Map(
      measurements.filter((x) => x.condition === condition && x.metric === AUC_METRIC).map((x) => [x.seed, x.value]),
    );
  const pretrained = auc(`x${m}/pretrained`);
  return [...auc(`x${m}/scratch`)]
    .filter(([seed]) => pretrained.has(seed))
    .map(([seed, scratch]) => ({
      condition: `x${m}`,
      seed,
      metric: 'transfer-gain',
      value: pretrained.get(seed)! - scratch,
    }));
}

export const specialisation: Recipe<SpecialisationSettings> = {
  name: 'specialisation',
  title: 'Specialisation and negative transfer: layer activity through the task switch',
  paperReference: '§3 Specialisation / negative transfer',
  description:
    'The 2-layer CNN is pre-trained long on many random classes (upstream), then trained on the downstream part with real labels, from scratch or pre-trained (rescaled, new head). ' +
    'A fixed probe batch of downstream images measures, per ReLU layer, the fraction of positive activations and of dead units, before and after the switch. The hidden FC layer is widened ×1, ×2, ×4.',
  defaultSeeds: { smoke: 2, cpu: 3, paper: 5 },
  seedsWhy: {
    cpu: 'every claim was decided at 3 seeds in the last cpu run',
  },
  scales: { smoke, cpu, paper },
  available: cifarAvailability,
  plan(scale, seeds) {
    const s = scaleSettings(this, scale);
    return seeds.flatMap((seed) =>
      s.multipliers.flatMap((m) => {
        const phases = cifarTransferPhases(s, seed, { name: 'cnn2', widths: [s.filters, s.hidden * m] });
        const probe = activityProbe(phases.downstream(s.downstreamIterations), s.probeExamples, s.probeEvery);
        const runs = transferRuns(phases, s, { prefix: `x${m}/`, probes: [probe] });
        return [runs.upstream, runs.fresh('scratch'), runs.transferred('pretrained')];
      }),
    );
  },
  async analyze({ scale, plan, context }) {
    const s = scaleSettings(this, scale);
    const { store } = context;
    const endingIn = (suffix: string) => plan.filter((p) => p.condition.endsWith(suffix));
    const { measurements, tables, figures } = combineTransfers([
      ...s.multipliers.map((m) => {
        const transfer = analyseTransfer(
          store,
          plan.filter((p) => p.condition === `x${m}/scratch` || p.condition === `x${m}/pretrained`),
          {
            baseline: `x${m}/scratch`,
            fixedIterations: s.fixedIterations,
            what: `downstream train accuracy, hidden width ×${m}`,
            figureId: `downstream-x${m}`,
            figureTitle: `Downstream training accuracy, hidden layer ×${m}`,
            caption: 'Paper: negative transfer at ×1 in this setting; widening the later layers (×2, ×4) removes it.',
            tableIdPrefix: `x${m}-`,
          },
        );
        return { ...transfer, measurements: [...transfer.measurements, ...transferGains(transfer.measurements, m)] };
      }),
      upstreamFit(store, endingIn('/upstream'), CIFAR10_CLASSES),
    ]);
    // Activity through the switch: the end of pre-training, then the pre-trained network on the downstream task.
    const points: { series: string; seed: number; x: number; y: number }[] = [];
    const rows: (string | number)[][] = [];
    for (const up of endingIn('/upstream').filter((p) => isFinished(store, p.id))) {
      const width = up.condition.split('/')[0]!;
      const down = plan.find((p) => p.condition === `${width}/pretrained` && p.seed === up.seed);
      if (!down || !isFinished(store, down.id)) continue;
      const upCurves = [FIRST, LAST].map((layer) => readCurve(store, up.id, positive(layer)));
      const downCurves = [FIRST, LAST].map((layer) => readCurve(store, down.id, positive(layer)));
      if (upCurves.some((c) => c.length === 0) || downCurves.some((c) => c.length < 2)) continue;
      const switchStep = upCurves[0]![upCurves[0]!.length - 1]!.iteration;
      const before = upCurves.map((c) => c[c.length - 1]!.value);
      // The first probe after the switch that follows downstream updates (step 0 is the rescaled net before any).
      const after = downCurves.map((c) => c.find((p) => p.iteration > 0)!.value);
      const afterStep = downCurves[0]!.find((p) => p.iteration > 0)!.iteration;
      measurements.push(
        ...measurementsOf(`${width}/pretrained`, up.seed, {
          'activity-drop-last': before[1]! - after[1]!,
          'activity-change-first': Math.abs(before[0]! - after[0]!),
        }),
      );
      rows.push([width, up.seed, before[0]!, after[0]!, before[1]!, after[1]!, afterStep]);
      if (width === 'x1') {
        [FIRST, LAST].forEach((layer, i) => {
          for (const p of upCurves[i]!)
            points.push({ series: `${layer} (upstream)`, seed: up.seed, x: p.iteration, y: p.value });
          for (const p of downCurves[i]!)
            points.push({ series: `${layer} (downstream)`, seed: up.seed, x: switchStep + p.iteration, y: p.value });
        });
      }
    }
    if (points.length) {
      figures.push({
        kind: 'chart',
        id: 'activity',
        title: 'Fraction of positive activations per layer through the task switch (×1)',
        caption:
          'On a fixed batch of downstream images; upstream steps, then downstream steps after the switch. Paper: later layers’ activity drops sharply at the switch; early layers barely change.',
        spec: bandChart(points, {
          xTitle: 'iteration (upstream, then downstream)',
          yTitle: 'fraction of positive activations',
          yDomain: [0, 1],
        }),
      });
    }
    tables.push({
      id: 'activity',
      title: 'Activity before and after the switch',
      caption:
        'Fraction of positive post-ReLU activations on the probe batch at the end of pre-training and at the first probe after downstream updates.',
      columns: [
        'width',
        'seed',
        `${FIRST} before`,
        `${FIRST} after`,
        `${LAST} before`,
        `${LAST} after`,
        'after (downstream step)',
      ],
      rows,
    });
    const checks = [
      scratchLearnsCheck(store, endingIn('/scratch'), CIFAR10_CLASSES),
      pretrainingLearnsCheck(store, endingIn('/upstream'), s.upstreamClasses),
    ];
    return { measurements, figures, tables, checks, notes: [] };
  },
  claims: [
    {
      id: 'spec.negative-transfer',
      source: '§3 Specialisation / negative transfer',
      statement:
        'In this setting (many upstream random classes, long pre-training) pre-training gives negative transfer at width ×1.',
      paperValue: 'pre-trained below scratch',
      rule: slowerThan('x1/pretrained', 'x1/scratch', upstreamAt(1)),
    },
    {
      id: 'spec.later-layers-drop',
      source: '§3 Specialisation / negative transfer',
      statement:
        "Later layers' activity drops sharply when training switches to the downstream task; early layers barely change (activity = fraction of positive post-ReLU activations on a fixed probe batch).",
      paperValue: 'last hidden layer drops; first layer barely changes',
      rule: withUpstreamFit(
        allOf(
          meanBeyond(operand('x1/pretrained', 'activity-drop-last'), 'above', 0),
          pairedDirection(
            operand('x1/pretrained', 'activity-drop-last'),
            operand('x1/pretrained', 'activity-change-first'),
            'greater',
          ),
        ),
        upstreamAt(1),
      ),
    },
    {
      id: 'spec.widening-helps',
      source: '§3 Specialisation / negative transfer',
      statement:
        'Widening the later layers improves transfer (transfer-gain = AUC pre-trained − AUC scratch, per seed).',
      paperValue: 'gain at ×4 above gain at ×1',
      rule: withUpstreamFit(
        pairedDirection(operand('x4', 'transfer-gain'), operand('x1', 'transfer-gain'), 'greater'),
        [upstreamAt(1), upstreamAt(4)],
      ),
    },
    {
      id: 'spec.widening-removes',
      source: '§3 Specialisation / negative transfer',
      statement: 'Widening the later layers (×4) removes the negative transfer.',
      paperValue: 'no negative transfer at ×4 (gain ≥ −0.01 AUC)',
      rule: withUpstreamFit(meanBeyond(operand('x4', 'transfer-gain'), 'above', -0.01), upstreamAt(4)),
    },
  ],
};

/**
 * The claims of docs/paper.md §3 that the recipes measure, each with the paper's sentence, the paper's
 * value or direction, and the rule that turns measurements into a verdict. Nothing here is a measured
 * number: verdicts come only from `evaluateClaims` applied to an experiment's measurements.
 *
 * Conditions and metrics named here are produced by the recipe of the same `experiment`
 * (src/experiments/recipes/); `test/experiments.test.ts` checks that every claim finds its data.
 *
 * Shared metric names:
 * - `auc`: area under the downstream training-accuracy curve, iterations normalised to [0, 1].
 * - `f-low`, `f-mid`, `f-high`: mean of the transfer function f over the lowest, middle and highest
 *   third of the data's σ values (sorted); `f-mean` over all; `f-peak` its maximum; `f-slope` the
 *   least-squares slope of f against σ; `f-curvature` = f-mid − (f-low + f-high)/2.
 */
import {
  allOf,
  meanBeyond,
  MeasurementTable,
  pairedDirection,
  pairedEquivalence,
  type Rule,
  type RuleOutcome,
  type Verdict,
} from './rules.js';
import type { Measurement } from './types.js';

export interface Claim {
  /** Stable id, `<experiment-prefix>.<what>`. */
  readonly id: string;
  /** The recipe that measures it. */
  readonly experiment: string;
  /** The sentence of docs/paper.md this claim tests (quoted or closely paraphrased), with its section. */
  readonly statement: string;
  readonly source: string;
  /** What the paper reports: a value or a direction. */
  readonly paperValue: string;
  readonly rule: Rule;
}

export interface ClaimResult {
  readonly id: string;
  readonly experiment: string;
  readonly statement: string;
  readonly source: string;
  readonly paperValue: string;
  readonly rule: string;
  readonly verdict: Verdict;
  readonly measured: string;
  readonly reason: string;
  readonly hasData: boolean;
}

/** Margin for "≈" between two AUCs (fractions of the train set, averaged over the curve). */
export const AUC_EQUIVALENCE_MARGIN = 0.02;

const op = (condition: string, metric: string) => ({ condition, metric });

/** f rises then falls: its middle third exceeds both outer thirds. */
function risesThenFalls(condition: string): Rule {
  return allOf(
    pairedDirection(op(condition, 'f-mid'), op(condition, 'f-low'), 'greater'),
    pairedDirection(op(condition, 'f-mid'), op(condition, 'f-high'), 'greater'),
  );
}

/** Pre-trained (or otherwise initialised) condition vs scratch on downstream AUC. */
const fasterThan = (condition: string, baseline: string): Rule =>
  pairedDirection(op(condition, 'auc'), op(baseline, 'auc'), 'greater');
const slowerThan = (condition: string, baseline: string): Rule =>
  pairedDirection(op(condition, 'auc'), op(baseline, 'auc'), 'less');

const FIG20_SETTINGS = ['left', 'middle', 'right'] as const;

export const CLAIMS: readonly Claim[] = [
  // Fig. 1 -----------------------------------------------------------------------------------
  {
    id: 'fig1.positive-real',
    experiment: 'fig1-vgg16-transfer',
    source: '§1, §3 Fig. 1 (top left)',
    statement:
      'A network pre-trained on random labels can train faster on a disjoint downstream set with real labels than one trained from scratch, even after rescaling its weights.',
    paperValue: 'positive setting (few upstream classes): pre-trained above scratch',
    rule: fasterThan('real/positive', 'real/scratch'),
  },
  {
    id: 'fig1.positive-random',
    experiment: 'fig1-vgg16-transfer',
    source: '§1, §3 Fig. 1 (bottom left)',
    statement: 'The speed-up also holds when the downstream labels are random.',
    paperValue: 'positive setting: pre-trained above scratch',
    rule: fasterThan('random/positive', 'random/scratch'),
  },
  {
    id: 'fig1.negative-real',
    experiment: 'fig1-vgg16-transfer',
    source: '§1, §3 Fig. 1 (top right)',
    statement: 'Later layers specialise to the upstream task and can hide this benefit, which gives negative transfer.',
    paperValue: 'negative setting (many upstream classes, longer training): pre-trained below scratch',
    rule: slowerThan('real/negative', 'real/scratch'),
  },
  {
    id: 'fig1.negative-random',
    experiment: 'fig1-vgg16-transfer',
    source: '§3 Fig. 1 (bottom right)',
    statement: 'Negative transfer in the same setting with random downstream labels.',
    paperValue: 'negative setting: pre-trained below scratch',
    rule: slowerThan('random/negative', 'random/scratch'),
  },
  // Fig. 2 -----------------------------------------------------------------------------------
  ...(['real', 'random'] as const).map((labels): Claim => ({
    id: `fig2.aligned-${labels}`,
    experiment: 'fig2-misalignment',
    source: '§3 Fig. 2',
    statement: `M w.r.t. the data basis stays far below M w.r.t. a random basis (${labels} labels).`,
    paperValue: 'M(data basis) far below M(random basis) throughout training',
    // late-max-ratio: the largest M(data)/M(random) over the second half of the logged iterations.
    rule: meanBeyond(op(labels, 'late-max-ratio'), 'below', 0.5, 1),
  })),
  // Fig. 3 -----------------------------------------------------------------------------------
  {
    id: 'fig3.eigenvectors-match',
    experiment: 'fig3-eigenimages',
    source: '§3 Fig. 3',
    statement:
      'Top eigenvectors of Σ_w resemble the top eigenvectors of the patch covariance. Measured as: Σ_w is closer to diagonal in the data eigenbasis than in a Haar-random basis (offdiag = off-diagonal share of ‖VᵀΣ_wV‖²_F).',
    paperValue: '(b) resembles (c)',
    rule: pairedDirection(op('random-labels', 'offdiag-data'), op('random-labels', 'offdiag-random'), 'less'),
  },
  // Fig. 4 -----------------------------------------------------------------------------------
  {
    id: 'fig4.synthetic-rises-then-falls',
    experiment: 'fig4-f-curves',
    source: '§3 Fig. 4 (left)',
    statement: 'Fully connected net on N(0, diag(0.1, …, 3.0)), random labels: f rises then falls.',
    paperValue: '≈0.184 at 0.1, peak ≈0.207 near 1, ≈0.163 at 3.0',
    rule: risesThenFalls('synthetic'),
  },
  {
    id: 'fig4.synthetic-seeds-coincide',
    experiment: 'fig4-f-curves',
    source: '§3 Fig. 4 (left)',
    statement:
      'The f curves of different seeds nearly coincide (f-seed-deviation: mean over σ of a seed’s relative distance |f_s − f̄| / f̄ from the mean f̄ of the other seeds).',
    paperValue: '5 seeds nearly coincide',
    // With two seeds the two deviations are (almost) equal by symmetry, which would fake a zero-width interval.
    rule: meanBeyond(op('synthetic', 'f-seed-deviation'), 'below', 0.1, 0.25, 3),
  },
  ...(['random', 'real'] as const).map((labels): Claim => ({
    id: `fig4.cnn-${labels}-grows`,
    experiment: 'fig4-f-curves',
    source: '§3 Fig. 4 (centre/right)',
    statement: `2-layer CNN on CIFAR-10 with ${labels} labels: f grows with training.`,
    paperValue: 'f at epoch 40 above f at epoch 5',
    rule: pairedDirection(op(`${labels}/last`, 'f-mean'), op(`${labels}/first`, 'f-mean'), 'greater'),
  })),
  {
    id: 'fig4.cnn-random-peak-interior',
    experiment: 'fig4-f-curves',
    source: '§3 Fig. 4 (centre)',
    statement:
      'With random labels f peaks at an intermediate σ and is flat at the smallest and largest σ (mean f over the middle third of the sorted σ values exceeds both outer thirds).',
    paperValue: 'peak ≈0.10 near σ≈0.25–0.3, ≈0.002 at the ends',
    rule: risesThenFalls('random/last'),
  },
  {
    id: 'fig4.cnn-random-above-real',
    experiment: 'fig4-f-curves',
    source: '§3 Fig. 4 (centre vs right)',
    statement: 'The peak of f after training on random labels is higher than after training on real labels.',
    paperValue: 'peak ≈0.10 (random) vs ≈0.024 (real)',
    rule: pairedDirection(op('random/last', 'f-peak'), op('real/last', 'f-peak'), 'greater'),
  },
  // Fig. 20 ----------------------------------------------------------------------------------
  {
    id: 'fig20.left-decreasing',
    experiment: 'fig20-gaussian-fc',
    source: '§3 Fig. 20 (left)',
    statement: 'Input dim 10, Σ_x = diag(1, …, 1.9), widths 2048, 256: f is decreasing.',
    paperValue: 'decreasing 0.38 → 0.315',
    rule: meanBeyond(op('left', 'f-slope'), 'below', 0),
  },
  {
    id: 'fig20.middle-rises-then-falls',
    experiment: 'fig20-gaussian-fc',
    source: '§3 Fig. 20 (middle)',
    statement: 'Input dim 30, Σ_x = diag(0.1, …, 3.0), widths 2048, 256: f rises then falls.',
    paperValue: 'rises then falls',
    rule: risesThenFalls('middle'),
  },
  {
    id: 'fig20.right-rises-then-saturates',
    experiment: 'fig20-gaussian-fc',
    source: '§3 Fig. 20 (right)',
    statement:
      'Input dim 30, widths 256, 256, 2 000 samples: f rises then saturates (rising, and concave: f-curvature > 0).',
    paperValue: 'rises then saturates ≈0.25',
    rule: allOf(
      pairedDirection(op('right', 'f-high'), op('right', 'f-low'), 'greater'),
      meanBeyond(op('right', 'f-curvature'), 'above', 0),
    ),
  },
  {
    id: 'fig20.aligned',
    experiment: 'fig20-gaussian-fc',
    source: '§2 Proposition; §2 Misalignment score',
    statement:
      'With Gaussian inputs and labels independent of x, Σ_w is aligned with Σ_x: the misalignment w.r.t. the data eigenbasis is below that w.r.t. a random basis.',
    paperValue: 'M(data basis) < M(random basis)',
    rule: allOf(
      ...FIG20_SETTINGS.map((setting) =>
        pairedDirection(op(setting, 'misalignment-data'), op(setting, 'misalignment-random'), 'less'),
      ),
    ),
  },
  {
    id: 'fig20.mean-zero',
    experiment: 'fig20-gaussian-fc',
    source: '§2 Weight covariance; Proposition',
    statement:
      'The first-layer weights have mean ≈ 0 (mean-z = ‖mean row‖·√rows / rms row norm, ≈1 for zero-mean i.i.d. rows).',
    paperValue: 'mean ≈ 0',
    rule: allOf(...FIG20_SETTINGS.map((setting) => meanBeyond(op(setting, 'mean-z'), 'below', 3))),
  },
  // Fig. 5 -----------------------------------------------------------------------------------
  {
    id: 'fig5.pretrained-beats-scratch',
    experiment: 'fig5-controls',
    source: '§3 Fig. 5',
    statement: 'Pre-trained on random labels and rescaled (new head) trains faster than from scratch.',
    paperValue: 'pre-trained ≈0.76/0.87 > scratch ≈0.68/0.79 (train acc. at ~1000/~2000 iterations)',
    rule: fasterThan('pretrained', 'scratch'),
  },
  {
    id: 'fig5.no-rescale-beats-pretrained',
    experiment: 'fig5-controls',
    source: '§3 Fig. 5',
    statement: 'Without rescaling the pre-trained network is faster still.',
    paperValue: 'no-rescale ≈0.80/0.90 > pre-trained ≈0.76/0.87',
    rule: fasterThan('no-rescale', 'pretrained'),
  },
  {
    id: 'fig5.covariance-beats-scratch',
    experiment: 'fig5-controls',
    source: '§3 Fig. 5',
    statement:
      'First-layer filters sampled from N(0, Σ_w of the pre-trained first layer), other layers fresh, train faster than scratch.',
    paperValue: 'covariance ≈0.76/0.87 > scratch ≈0.68/0.79',
    rule: fasterThan('covariance', 'scratch'),
  },
  {
    id: 'fig5.covariance-matches-pretrained',
    experiment: 'fig5-controls',
    source: '§3 Fig. 5',
    statement: 'Covariance initialisation is about as fast as the pre-trained, rescaled network.',
    paperValue: `covariance ≈ pre-trained (≈0.76/0.87 both); margin ±${AUC_EQUIVALENCE_MARGIN} AUC`,
    rule: pairedEquivalence(op('covariance', 'auc'), op('pretrained', 'auc'), AUC_EQUIVALENCE_MARGIN),
  },
  {
    id: 'fig5.f-from-data-beats-scratch',
    experiment: 'fig5-controls',
    source: '§2 Covariance initialisation; §1',
    statement:
      'First-layer filters sampled from N(0, Σ_i f(σ_i)² v_i v_iᵀ), built from data statistics and the measured f, train faster than scratch.',
    paperValue: 'direction implied by §1–§2 (alignment is what transfers): faster than scratch',
    rule: fasterThan('f-from-data', 'scratch'),
  },
  {
    id: 'fig5.first-layer-only-beats-scratch',
    experiment: 'fig5-controls',
    source: '§3 Fig. 5 ("pre-trained first layer only")',
    statement: 'The rescaled pre-trained first layer alone, other layers fresh, trains faster than scratch.',
    paperValue: 'direction implied by §1 (the first layer carries the benefit): faster than scratch',
    rule: fasterThan('first-layer-only', 'scratch'),
  },
  // Deeper layers ----------------------------------------------------------------------------
  {
    id: 'deeper.first-layer-beats-scratch',
    experiment: 'deeper-layers',
    source: '§3 Deeper layers (Sec. 2.5)',
    statement: 'Covariance initialisation of layer 1 trains faster than scratch.',
    paperValue: 'faster than scratch',
    rule: fasterThan('k=1', 'scratch'),
  },
  {
    id: 'deeper.more-layers-faster',
    experiment: 'deeper-layers',
    source: '§3 Deeper layers (Sec. 2.5)',
    statement: 'Initialise layers 1..k by the covariance method: training speed improves further as k grows.',
    paperValue: 'speed grows with k',
    rule: pairedDirection(op('k=max', 'auc'), op('k=1', 'auc'), 'greater'),
  },
  // Specialisation ---------------------------------------------------------------------------
  {
    id: 'spec.negative-transfer',
    experiment: 'specialisation',
    source: '§3 Specialisation / negative transfer',
    statement:
      'In this setting (many upstream random classes, long pre-training) pre-training gives negative transfer at width ×1.',
    paperValue: 'pre-trained below scratch',
    rule: slowerThan('x1/pretrained', 'x1/scratch'),
  },
  {
    id: 'spec.later-layers-drop',
    experiment: 'specialisation',
    source: '§3 Specialisation / negative transfer',
    statement:
      "Later layers' activity drops sharply when training switches to the downstream task; early layers barely change (activity = fraction of positive post-ReLU activations on a fixed probe batch).",
    paperValue: 'last hidden layer drops; first layer barely changes',
    rule: allOf(
      meanBeyond(op('x1/pretrained', 'activity-drop-last'), 'above', 0),
      pairedDirection(
        op('x1/pretrained', 'activity-drop-last'),
        op('x1/pretrained', 'activity-change-first'),
        'greater',
      ),
    ),
  },
  {
    id: 'spec.widening-helps',
    experiment: 'specialisation',
    source: '§3 Specialisation / negative transfer',
    statement: 'Widening the later layers improves transfer (transfer-gain = AUC pre-trained − AUC scratch, per seed).',
    paperValue: 'gain at ×4 above gain at ×1',
    rule: pairedDirection(op('x4', 'transfer-gain'), op('x1', 'transfer-gain'), 'greater'),
  },
  {
    id: 'spec.widening-removes',
    experiment: 'specialisation',
    source: '§3 Specialisation / negative transfer',
    statement: 'Widening the later layers (×4) removes the negative transfer.',
    paperValue: 'no negative transfer at ×4 (gain ≥ −0.01 AUC)',
    rule: meanBeyond(op('x4', 'transfer-gain'), 'above', -0.01),
  },
  // Critical stages --------------------------------------------------------------------------
  {
    id: 'critical.longer-hurts',
    experiment: 'critical-stages',
    source: '§3 Critical stages',
    statement:
      'Longer random-label phases before switching to real labels hurt final downstream performance more (final-acc-slope: slope of final downstream test accuracy against phase length, per seed).',
    paperValue: 'negative slope',
    rule: meanBeyond(op('all', 'final-acc-slope'), 'below', 0),
  },
  // ImageNet ---------------------------------------------------------------------------------
  {
    id: 'imagenet.pretrained-beats-scratch',
    experiment: 'imagenet-transfer',
    source: '§3 ImageNet; §1',
    statement:
      'Same protocol on an ImageNet-style image folder (ResNet18, disjoint halves, random upstream classes): pre-training on random labels speeds up downstream training.',
    paperValue: 'pre-trained above scratch',
    rule: fasterThan('pretrained', 'scratch'),
  },
];

export function claimsFor(experiment: string): Claim[] {
  return CLAIMS.filter((claim) => claim.experiment === experiment);
}

export function evaluateClaim(claim: Claim, table: MeasurementTable): ClaimResult {
  const outcome: RuleOutcome = claim.rule.evaluate(table);
  return {
    id: claim.id,
    experiment: claim.experiment,
    statement: claim.statement,
    source: claim.source,
    paperValue: claim.paperValue,
    rule: claim.rule.text,
    verdict: outcome.verdict,
    measured: outcome.measured,
    reason: outcome.reason,
    hasData: outcome.hasData,
  };
}

/** Verdicts for every claim of `experiment` from its measurements. */
export function evaluateClaims(
  experiment: string,
  measurements: readonly Measurement[],
  claims: readonly Claim[] = CLAIMS,
): ClaimResult[] {
  const table = new MeasurementTable(measurements);
  return claims.filter((claim) => claim.experiment === experiment).map((claim) => evaluateClaim(claim, table));
}

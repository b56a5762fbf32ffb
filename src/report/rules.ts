/**
 * Verdict rules: functions from measurements to reproduced / not reproduced / inconclusive, each
 * with its wording, so the report states the rule it applied next to the verdict.
 *
 * Every rule decides from a 95% Student-t interval over seeds (see stats.ts). Fewer than two seeds
 * give no interval and so an inconclusive verdict: one run cannot show that a difference is real.
 * Each outcome also carries the numbers behind it (evidence.ts): the observed effect, its standard
 * deviation, n, and the seeds a paired t-test would need for 80% power at an effect of this size; an
 * inconclusive reason ends with them. The verdict itself is decided by the interval alone.
 */
import { evidence, inconclusiveReason, seedsNeeded, type Evidence } from './evidence.js';
import type { Measurement } from './types.js';
import { pairedDifference, summarize, type Summary } from './stats.js';

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

export interface RuleOutcome {
  readonly verdict: Verdict;
  /** The measured value, e.g. `+0.052 [0.031, 0.073], n=3`. */
  readonly measured: string;
  /** Why this verdict, in one sentence. */
  readonly reason: string;
  /** False when the measurements the rule needs are absent (a recipe did not produce them). */
  readonly hasData: boolean;
  /** The numbers behind the verdict; absent without an interval (no data, one seed) and for `allOf`. */
  readonly evidence?: Evidence;
  /** `allOf`: the outcome of each part, in order. */
  readonly parts?: readonly RuleOutcome[];
}

export interface Rule {
  /** The rule in words, as the report prints it. */
  readonly text: string;
  evaluate(measurements: MeasurementTable): RuleOutcome;
}

/** A quantity the rules compare: one metric of one condition, one value per seed. */
export interface Operand {
  readonly condition: string;
  readonly metric: string;
}

/** `metric` of `condition`, as a rule reads it. */
export const operand = (condition: string, metric: string): Operand => ({ condition, metric });

const describeOperand = (operand: Operand): string => `${operand.metric}(${operand.condition})`;

/** The paired difference a − b as a short name: `auc difference`, `f-mid − f-low`, or both operands in full. */
function describeDifference(a: Operand, b: Operand): string {
  if (a.metric === b.metric) return `${a.metric} difference`;
  if (a.condition === b.condition) return `${a.metric} − ${b.metric}`;
  return `${describeOperand(a)} − ${describeOperand(b)}`;
}

/** Measurements indexed by condition and metric, values keyed by seed. */
export class MeasurementTable {
  private readonly index = new Map<string, Map<number, number>>();

  constructor(measurements: readonly Measurement[]) {
    for (const m of measurements) {
      const key = MeasurementTable.key(m.condition, m.metric);
      let bySeed = this.index.get(key);
      if (!bySeed) this.index.set(key, (bySeed = new Map<number, number>()));
      if (bySeed.has(m.seed))
        throw new Error(`measurement ${m.metric} of condition '${m.condition}' is given twice for seed ${m.seed}`);
      bySeed.set(m.seed, m.value);
    }
  }

  private static key(condition: string, metric: string): string {
    return `${condition}\u0000${metric}`;
  }

  /** Values of an operand keyed by seed (empty when not measured). */
  bySeed(operand: Operand): ReadonlyMap<number, number> {
    return this.index.get(MeasurementTable.key(operand.condition, operand.metric)) ?? new Map();
  }

  values(operand: Operand): number[] {
    return [...this.bySeed(operand).entries()].sort((x, y) => x[0] - y[0]).map(([, value]) => value);
  }

  /** Values of two operands for the seeds both have, in seed order. */
  paired(a: Operand, b: Operand): { seeds: number[]; a: number[]; b: number[] } {
    const mapA = this.bySeed(a);
    const mapB = this.bySeed(b);
    const seeds = [...mapA.keys()].filter((seed) => mapB.has(seed)).sort((x, y) => x - y);
    return { seeds, a: seeds.map((s) => mapA.get(s)!), b: seeds.map((s) => mapB.get(s)!) };
  }
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5)) return value.toExponential(2);
  // Decide the decimals on the rounded value, so 0.09999999 prints like 0.1.
  return value.toFixed(Math.abs(Number(value.toFixed(3))) < 0.1 ? 4 : 3);
}

/** `mean [low, high], n=k` (or `mean, n=1`). */
export function formatSummary(summary: Summary, signed = false): string {
  const m = formatNumber(summary.mean);
  const head = signed && summary.mean > 0 ? `+${m}` : m;
  if (!summary.interval) return `${head}, n=${summary.n}`;
  return `${head} [${formatNumber(summary.interval.low)}, ${formatNumber(summary.interval.high)}], n=${summary.n}`;
}

function noData(what: string): RuleOutcome {
  return { verdict: 'inconclusive', measured: 'not measured', reason: `no measurements of ${what}`, hasData: false };
}

function tooFewSeeds(summary: Summary, measured: string): RuleOutcome {
  return {
    verdict: 'inconclusive',
    measured,
    reason: `${summary.n} seed(s): an interval needs at least 2, and one seed shows no spread to size the seeds needed`,
    hasData: true,
  };
}

/** An outcome decided from an interval; an inconclusive one's reason says whether more seeds would settle it. */
function decided(verdict: Verdict, measured: string, why: string, numbers: Evidence): RuleOutcome {
  const reason = verdict === 'inconclusive' ? inconclusiveReason(why, numbers) : why;
  return { verdict, measured, reason, hasData: true, evidence: numbers };
}

/**
 * The paired (by seed) difference a − b, summarised, handed to `decide` with its `measured` text;
 * inconclusive without deciding when no seed has both or too few seeds give an interval.
 */
function decideOnPairedDifference(
  table: MeasurementTable,
  a: Operand,
  b: Operand,
  decide: (difference: Summary, measured: string) => RuleOutcome,
): RuleOutcome {
  const pairs = table.paired(a, b);
  if (pairs.seeds.length === 0) return noData(`${describeOperand(a)} and ${describeOperand(b)} for a common seed`);
  const difference = pairedDifference(pairs.a, pairs.b);
  const measured = `difference ${formatSummary(difference, true)}`;
  if (!difference.interval) return tooFewSeeds(difference, measured);
  return decide(difference, measured);
}

/** Where an interval lies relative to a threshold. */
function side(summary: Summary, threshold: number): 'above' | 'below' | 'straddles' {
  const { low, high } = summary.interval!;
  if (low > threshold) return 'above';
  if (high < threshold) return 'below';
  return 'straddles';
}

/**
 * `a − b`, paired by seed, lies on the expected side of 0.
 * Reproduced when the paired 95% interval of the mean difference lies entirely on the expected side;
 * not reproduced when it lies entirely on the other side; inconclusive when it contains 0.
 */
export function pairedDirection(a: Operand, b: Operand, expect: 'greater' | 'less'): Rule {
  const relation = expect === 'greater' ? 'exceeds' : 'is below';
  const quantity = describeDifference(a, b);
  return {
    text:
      `${describeOperand(a)} ${relation} ${describeOperand(b)}: paired by seed, the 95% t-interval of the mean difference ` +
      `lies entirely ${expect === 'greater' ? 'above' : 'below'} 0 → reproduced; entirely on the other side → not reproduced; contains 0 → inconclusive.`,
    evaluate(table) {
      return decideOnPairedDifference(table, a, b, (difference, measured) => {
        const numbers = evidence(
          difference,
          { quantity, paired: true, effect: difference.mean, effectIs: 'mean difference' },
          seedsNeeded(difference.mean, difference.std, 'no observed effect (the mean difference is 0)'),
        );
        const where = side(difference, 0);
        const wanted = expect === 'greater' ? 'above' : 'below';
        if (where === wanted) return decided('reproduced', measured, `the interval lies ${wanted} 0`, numbers);
        if (where === 'straddles') return decided('inconclusive', measured, 'the interval contains 0', numbers);
        return decided('not reproduced', measured, `the interval lies ${where} 0, opposite to the paper`, numbers);
      });
    },
  };
}

/**
 * `a ≈ b` within ±margin, paired by seed (an equivalence test).
 * Reproduced when the 95% interval of the mean difference lies inside [−margin, margin]; not reproduced
 * when it lies entirely outside it; inconclusive otherwise.
 */
export function pairedEquivalence(a: Operand, b: Operand, margin: number): Rule {
  if (!(margin > 0)) throw new Error(`pairedEquivalence: margin must be positive, got ${margin}`);
  return {
    text:
      `${describeOperand(a)} ≈ ${describeOperand(b)}: paired by seed, the 95% t-interval of the mean difference lies inside ` +
      `[−${margin}, ${margin}] → reproduced; entirely outside it → not reproduced; otherwise inconclusive.`,
    evaluate(table) {
      return decideOnPairedDifference(table, a, b, (difference, measured) => {
        // The interval settles once it clears the margin nearer the mean, so that distance is the effect.
        const distance = Math.abs(Math.abs(difference.mean) - margin);
        const where = Math.abs(difference.mean) < margin ? 'inside' : 'outside';
        const numbers = evidence(
          difference,
          {
            quantity: describeDifference(a, b),
            paired: true,
            effect: distance,
            effectIs: `distance from the mean difference to the nearer margin of ±${margin} (${where})`,
          },
          seedsNeeded(distance, difference.std, `the mean difference lies on the margin ±${margin}`),
        );
        const { low, high } = difference.interval!;
        if (low >= -margin && high <= margin)
          return decided('reproduced', measured, `the interval lies within ±${margin}`, numbers);
        if (low > margin || high < -margin)
          return decided('not reproduced', measured, `the interval lies outside ±${margin}`, numbers);
        return decided('inconclusive', measured, `the interval crosses ±${margin}`, numbers);
      });
    },
  };
}

/**
 * The mean of one operand over seeds lies beyond a threshold.
 * Reproduced when the 95% interval lies entirely on the expected side of `threshold`; not reproduced when
 * it lies entirely on the other side of `failThreshold` (default: `threshold`); inconclusive otherwise.
 */
export function meanBeyond(
  operand: Operand,
  expect: 'above' | 'below',
  threshold: number,
  failThreshold = threshold,
  minSeeds = 2,
): Rule {
  const opposite = expect === 'above' ? 'below' : 'above';
  if (expect === 'above' ? failThreshold > threshold : failThreshold < threshold) {
    throw new Error(
      `meanBeyond: failThreshold ${failThreshold} must lie ${opposite} threshold ${threshold} or equal it`,
    );
  }
  const failText = failThreshold === threshold ? '' : ` ${failThreshold}`;
  const beyond = (mean: number) => (expect === 'above' ? mean > threshold : mean < threshold);
  const failing = (mean: number) => (expect === 'above' ? mean < failThreshold : mean > failThreshold);
  // The boundary a shrinking interval around the mean would clear: the fail threshold when the mean lies
  // past it, the threshold otherwise.
  const boundary = (mean: number) =>
    failThreshold !== threshold && failing(mean)
      ? { effect: mean - failThreshold, effectIs: `mean − ${failThreshold} (the fail threshold)` }
      : { effect: mean - threshold, effectIs: `mean − ${threshold}` };
  const seeds = (summary: Summary) => {
    if (beyond(summary.mean) || failing(summary.mean))
      return seedsNeeded(boundary(summary.mean).effect, summary.std, `the mean lies at ${threshold}`, minSeeds);
    // Between the thresholds (or on the one threshold) an interval around the mean never clears either.
    const where =
      failThreshold === threshold ? `at the threshold ${threshold}` : `between ${threshold} and ${failThreshold}`;
    return { never: `the mean lies ${where}, where no verdict is reached` };
  };
  return {
    text:
      `The 95% t-interval over seeds of the mean of ${describeOperand(operand)} lies entirely ${expect} ${threshold} → reproduced; ` +
      `entirely ${opposite}${failText || ' it'} → not reproduced; otherwise inconclusive.${minSeeds > 2 ? ` Needs at least ${minSeeds} seeds.` : ''}`,
    evaluate(table) {
      const values = table.values(operand);
      if (values.length === 0) return noData(describeOperand(operand));
      const summary = summarize(values);
      const measured = formatSummary(summary);
      if (!summary.interval) return tooFewSeeds(summary, measured);
      const numbers = evidence(
        summary,
        { quantity: operand.metric, paired: false, ...boundary(summary.mean) },
        seeds(summary),
      );
      if (summary.n < minSeeds)
        return decided('inconclusive', measured, `${summary.n} seeds: this rule needs at least ${minSeeds}`, numbers);
      if (side(summary, threshold) === expect)
        return decided('reproduced', measured, `the interval lies ${expect} ${threshold}`, numbers);
      if (side(summary, failThreshold) === opposite)
        return decided('not reproduced', measured, `the interval lies ${opposite} ${failThreshold}`, numbers);
      return decided('inconclusive', measured, `the interval is not entirely ${expect} ${threshold}`, numbers);
    },
  };
}

/** Several rules that must all hold: reproduced when every part is; not reproduced when any part is not;
 *  inconclusive otherwise. */
export function allOf(...rules: Rule[]): Rule {
  if (rules.length < 2) throw new Error('allOf needs at least two rules');
  return {
    text: `All of: ${rules.map((rule, i) => `(${i + 1}) ${rule.text}`).join(' ')} Reproduced when every part is; not reproduced when any part is not; otherwise inconclusive.`,
    evaluate(table) {
      const outcomes = rules.map((rule) => rule.evaluate(table));
      const measured = outcomes.map((o, i) => `(${i + 1}) ${o.measured}`).join('; ');
      const reason = outcomes.map((o, i) => `(${i + 1}) ${o.verdict}: ${o.reason}`).join('; ');
      const hasData = outcomes.every((o) => o.hasData);
      const verdict: Verdict = outcomes.some((o) => o.verdict === 'not reproduced')
        ? 'not reproduced'
        : outcomes.every((o) => o.verdict === 'reproduced')
          ? 'reproduced'
          : 'inconclusive';
      return { verdict, measured, reason, hasData, parts: outcomes };
    },
  };
}

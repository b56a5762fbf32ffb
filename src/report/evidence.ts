/**
 * The numbers behind a verdict, and how many seeds would settle it: the observed effect (the distance of
 * the mean from the boundary the rule decides at), its standard deviation over seeds, n, and the seeds a
 * paired t-test needs for 80% power at an effect of this size (power.ts). An inconclusive verdict's reason
 * ends with them, so a reader sees whether more seeds would settle the claim.
 */
import { samplesForPower } from './power.js';
import type { Summary } from './stats.js';

/** Seeds for 80% power at the observed effect: a number, more than the search cap, or none and why. */
export type SeedsNeeded = { readonly seeds: number } | { readonly moreThan: number } | { readonly never: string };

export interface Evidence {
  /** The quantity the rule decides on, e.g. `auc difference` (paired by seed) or `ratio` (a mean over seeds). */
  readonly quantity: string;
  /** True when the values are per-seed differences of two quantities (printed with a sign). */
  readonly paired: boolean;
  /** Its mean over seeds and 95% t-interval. */
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  /** Sample standard deviation over seeds (n − 1). */
  readonly sd: number;
  readonly n: number;
  /** The effect the seeds needed are sized for: the distance of the mean from the boundary the rule decides at. */
  readonly effect: number;
  /** What `effect` is, in words, e.g. `mean difference` or `mean − 0.5`. */
  readonly effectIs: string;
  readonly seedsNeeded: SeedsNeeded;
}

/**
 * Seeds for 80% power at `effect` with the sample's sd, at least `minSeeds` (a rule's own minimum); when no
 * number would do, `whyNone` says why for an effect of 0, and a spread of 0 is named as such.
 */
export function seedsNeeded(effect: number, sd: number, whyNone: string, minSeeds = 2): SeedsNeeded {
  const found = samplesForPower(effect, sd);
  if (found === null) return { never: effect === 0 ? whyNone : 'the seeds do not vary (sd 0), so no power is defined' };
  return typeof found === 'number' ? { seeds: Math.max(found, minSeeds) } : found;
}

/** The evidence of a summary that has an interval. */
export function evidence(
  summary: Summary,
  what: { readonly quantity: string; readonly paired: boolean; readonly effect: number; readonly effectIs: string },
  seeds: SeedsNeeded,
): Evidence {
  if (!summary.interval) throw new Error(`evidence: a summary of ${summary.n} value(s) has no interval`);
  return {
    quantity: what.quantity,
    paired: what.paired,
    mean: summary.mean,
    low: summary.interval.low,
    high: summary.interval.high,
    sd: summary.std,
    n: summary.n,
    effect: what.effect,
    effectIs: what.effectIs,
    seedsNeeded: seeds,
  };
}

/** A count with its digits in groups of three, `10 000`, as the report prints numbers of seeds. */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** Whether, and with how many seeds, an effect of the observed size would be settled. */
export function settleSentence(seeds: SeedsNeeded): string {
  if ('seeds' in seeds) return `about ${formatCount(seeds.seeds)} seeds would settle an effect this size`;
  if ('moreThan' in seeds)
    return `more than ${formatCount(seeds.moreThan)} seeds would be needed to settle an effect this size`;
  return `no number of seeds would settle it: ${seeds.never}`;
}

/** `why: inconclusive at n = 3; about 11 seeds would settle an effect this size`. */
export function inconclusiveReason(why: string, evidence: Evidence): string {
  return `${why}: inconclusive at n = ${evidence.n}; ${settleSentence(evidence.seedsNeeded)}`;
}

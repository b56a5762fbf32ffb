/**
 * What settling an inconclusive claim would cost: the seeds its evidence asks for (evidence.ts) times the
 * run time one seed of this experiment took, set against the time budget of the scale it ran at. A reader
 * of an inconclusive cpu-scale claim then sees whether `--seeds N` would settle it within the cpu budget,
 * or whether it needs a larger scale (or a GPU).
 */
import type { RuleOutcome } from './rules.js';
import type { RunRecord, SeedBudget } from './types.js';

export interface SeedCost {
  /** Seeds a paired t-test at 80% power needs at the observed effect (the largest over a conjunction's parts). */
  readonly seeds: number;
  /** Run time of one seed: the recorded seconds of all runs over the number of seeds (runs one after another). */
  readonly secondsPerSeed: number;
  /** `seeds × secondsPerSeed`. */
  readonly seconds: number;
  /** The time budget of the scale the experiment ran at, when it has one, and whether `seconds` fits it. */
  readonly budget?: SeedBudget & { readonly fits: boolean };
}

/** Run seconds per seed, from the runs whose time is recorded; undefined when none is. */
export function secondsPerSeed(runs: readonly RunRecord[], seedCount: number): number | undefined {
  const timed = runs.filter((run) => run.seconds !== undefined);
  if (timed.length === 0 || seedCount < 1) return undefined;
  return timed.reduce((sum, run) => sum + (run.seconds ?? 0), 0) / seedCount;
}

/**
 * The seeds an inconclusive outcome needs: its own evidence's, or the largest of its inconclusive parts'.
 * Undefined when it is decided, has no evidence, or no number of seeds (within the search cap) would do.
 */
export function seedsToSettle(outcome: RuleOutcome): number | undefined {
  if (outcome.verdict !== 'inconclusive') return undefined;
  if (outcome.parts) {
    const needs = outcome.parts.filter((part) => part.verdict === 'inconclusive').map(seedsToSettle);
    if (needs.length === 0 || needs.some((need) => need === undefined)) return undefined;
    return Math.max(...(needs as number[]));
  }
  const needed = outcome.evidence?.seedsNeeded;
  return needed && 'seeds' in needed ? needed.seeds : undefined;
}

/** The cost of settling an outcome at this experiment's measured run time per seed, if it can be stated. */
export function seedCost(outcome: RuleOutcome, perSeed: number | undefined, budget?: SeedBudget): SeedCost | undefined {
  const seeds = seedsToSettle(outcome);
  if (seeds === undefined || perSeed === undefined) return undefined;
  const seconds = seeds * perSeed;
  return {
    seeds,
    secondsPerSeed: perSeed,
    seconds,
    ...(budget ? { budget: { ...budget, fits: seconds <= budget.seconds } } : {}),
  };
}

/** `12 s`, `13 min`, `2.4 h`: a duration as a reader estimates it. */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  const hours = seconds / 3600;
  return `${hours < 10 ? hours.toFixed(1) : Math.round(hours)} h`;
}

/**
 * `at the 4 min of run time a seed took here, 11 seeds take about 44 min: within the cpu scale's budget of
 * 2.0 h (--seeds 11)`; without a budget the sentence ends at the duration.
 */
export function seedCostSentence(cost: SeedCost): string {
  const text =
    `at the ${formatDuration(cost.secondsPerSeed)} of run time a seed took here, ` +
    `${cost.seeds} seeds take about ${formatDuration(cost.seconds)}`;
  if (!cost.budget) return text;
  const budget = `the ${cost.budget.scale} scale's budget of ${formatDuration(cost.budget.seconds)}`;
  return cost.budget.fits
    ? `${text}: within ${budget} (--seeds ${cost.seeds})`
    : `${text}: beyond ${budget}, so a larger scale or a GPU must settle it`;
}

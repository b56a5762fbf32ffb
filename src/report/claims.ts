/**
 * A claim of docs/paper.md that an experiment tests: the paper's sentence, the paper's value or
 * direction, and the rule that turns measurements into a verdict. Each recipe declares its own claims
 * next to its plan (src/experiments/recipes/), naming the conditions and metrics its analysis
 * produces; the report evaluates them. Nothing here is a measured number: verdicts come only from
 * `evaluateClaims` applied to an experiment's measurements.
 */
import { MeasurementTable, type Rule, type RuleOutcome } from './rules.js';
import type { SeedCost } from './seed-cost.js';
import type { Measurement } from './types.js';

export interface Claim {
  /** Stable id, `<experiment-prefix>.<what>`. */
  readonly id: string;
  /** The sentence of docs/paper.md this claim tests (quoted or closely paraphrased), with its section. */
  readonly statement: string;
  readonly source: string;
  /** What the paper reports: a value or a direction. */
  readonly paperValue: string;
  readonly rule: Rule;
}

/** A claim with its rule's outcome: verdict, measured value, reason and the numbers behind them. */
export interface ClaimResult extends RuleOutcome {
  readonly id: string;
  /** The experiment (recipe) that tested it. */
  readonly experiment: string;
  readonly statement: string;
  readonly source: string;
  readonly paperValue: string;
  readonly rule: string;
  /** For an inconclusive claim: the seeds that would settle it and their run time (seed-cost.ts), when known. */
  readonly cost?: SeedCost;
}

export function evaluateClaim(experiment: string, claim: Claim, table: MeasurementTable): ClaimResult {
  return {
    id: claim.id,
    experiment,
    statement: claim.statement,
    source: claim.source,
    paperValue: claim.paperValue,
    rule: claim.rule.text,
    ...claim.rule.evaluate(table),
  };
}

/** Verdicts for the claims an experiment tests, from its measurements, in the order the claims are given. */
export function evaluateClaims(
  experiment: string,
  claims: readonly Claim[],
  measurements: readonly Measurement[],
): ClaimResult[] {
  const ids = new Set<string>();
  for (const claim of claims) {
    if (ids.has(claim.id)) throw new Error(`${experiment}: claim id '${claim.id}' is declared twice`);
    ids.add(claim.id);
  }
  const table = new MeasurementTable(measurements);
  return claims.map((claim) => evaluateClaim(experiment, claim, table));
}

/**
 * What was found, one plain sentence per claim: the verdict, the paper's statement and the numbers behind
 * the verdict, e.g. "Inconclusive: covariance initialisation is as fast as pre-training (auc difference
 * +0.01 [−0.02, 0.04], 3 seeds; about 14 seeds would settle an effect this size)." The report opens with
 * these sentences and the experiment command prints them; both escape them where they need to.
 */
import type { ClaimResult } from './claims.js';
import { settleSentence } from './evidence.js';
import { seedCostSentence } from './seed-cost.js';
import { formatNumber, type RuleOutcome } from './rules.js';

const signed = (value: number) => (value > 0 ? `+${formatNumber(value)}` : formatNumber(value));

/** The numbers of one outcome: `auc difference +0.052 [0.031, 0.073], 3 seeds`, and for an inconclusive
 *  one whether more seeds would settle it; the parts of a conjunction in turn. */
export function outcomeNumbers(outcome: RuleOutcome): string {
  if (outcome.parts)
    return outcome.parts.map((part, i) => `(${i + 1}) ${part.verdict}, ${outcomeNumbers(part)}`).join('; ');
  const numbers = outcome.evidence;
  if (!numbers) return outcome.hasData ? `${outcome.measured}: ${outcome.reason}` : outcome.reason;
  const mean = numbers.paired ? signed(numbers.mean) : formatNumber(numbers.mean);
  const interval = `[${formatNumber(numbers.low)}, ${formatNumber(numbers.high)}]`;
  const text = `${numbers.quantity} ${mean} ${interval}, ${numbers.n} seeds`;
  return outcome.verdict === 'inconclusive' ? `${text}; ${settleSentence(numbers.seedsNeeded)}` : text;
}

/** `Reproduced: <statement> (<numbers>).`; an inconclusive claim adds what settling it would cost. */
export function findingSentence(claim: ClaimResult): string {
  const verdict = claim.verdict.charAt(0).toUpperCase() + claim.verdict.slice(1);
  const statement = claim.statement.trim().replace(/\.$/, '');
  const cost = claim.cost ? `; ${seedCostSentence(claim.cost)}` : '';
  return `${verdict}: ${statement} (${outcomeNumbers(claim)}${cost}).`;
}

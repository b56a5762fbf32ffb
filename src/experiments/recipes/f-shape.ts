/**
 * The shape of the transfer function f (docs/paper.md §2, §3 Fig. 4, Fig. 20): statistics of f over σ
 * that the f recipes measure per seed, and the claim rules that read them.
 *
 * Metric names: `f-low`, `f-mid`, `f-high`: mean of f over the lowest, middle and highest third of the
 * data's σ values (sorted); `f-mean` over all; `f-peak` its maximum; `f-slope` the least-squares slope of
 * f against σ; `f-curvature` = f-mid − (f-low + f-high)/2; `f-seed-deviation` (see `seedDeviation`).
 */
import { allOf, operand, pairedDirection, type Rule } from '../../report/rules.js';
import { linearSlope, mean } from '../../report/stats.js';

/** Shape statistics of f over σ (both in ascending σ order). */
export function fShapeMetrics(sigma: readonly number[], f: readonly number[]): Record<string, number> {
  if (sigma.length !== f.length || f.length < 3)
    throw new Error(`f shape needs ≥ 3 matching σ and f values, got ${sigma.length} and ${f.length}`);
  const order = sigma.map((_, i) => i).sort((a, b) => sigma[a]! - sigma[b]!);
  const sorted = order.map((i) => f[i]!);
  const third = Math.floor(sorted.length / 3);
  const low = mean(sorted.slice(0, third));
  const mid = mean(sorted.slice(third, sorted.length - third));
  const high = mean(sorted.slice(sorted.length - third));
  return {
    'f-low': low,
    'f-mid': mid,
    'f-high': high,
    'f-mean': mean(sorted),
    'f-peak': Math.max(...sorted),
    'f-slope': linearSlope(
      order.map((i) => sigma[i]!),
      sorted,
    ),
    'f-curvature': mid - (low + high) / 2,
  };
}

/**
 * f-seed-deviation per seed: mean over σ-indices of |f_s(i) − f̄(i)| / f̄(i), f̄ the mean of the *other*
 * seeds (leave-one-out, so a seed is not compared with itself). Needs at least two seeds.
 */
export function seedDeviation(curves: ReadonlyMap<number, readonly number[]>): Map<number, number> {
  const seeds = [...curves.keys()];
  const out = new Map<number, number>();
  if (seeds.length < 2) return out;
  const length = curves.get(seeds[0]!)!.length;
  for (const seed of seeds) {
    const others = seeds.filter((s) => s !== seed);
    const f = curves.get(seed)!;
    const deviations = Array.from({ length }, (_, i) => {
      const reference = mean(others.map((s) => curves.get(s)![i]!));
      return Math.abs(f[i]! - reference) / reference;
    });
    out.set(seed, mean(deviations));
  }
  return out;
}

/** f rises then falls: its middle third exceeds both outer thirds, paired by seed. */
export function risesThenFalls(condition: string): Rule {
  return allOf(
    pairedDirection(operand(condition, 'f-mid'), operand(condition, 'f-low'), 'greater'),
    pairedDirection(operand(condition, 'f-mid'), operand(condition, 'f-high'), 'greater'),
  );
}

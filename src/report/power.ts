/**
 * Power of the two-sided one-sample (= paired) t-test, and the sample size it needs: what a report uses to
 * say whether more seeds would settle a claim that its 95% interval leaves open.
 *
 * With n values of mean `effect` and standard deviation `sd`, the statistic T = x̄·√n / s follows the
 * noncentral t distribution with df = n − 1 and noncentrality δ = effect·√n / sd (Johnson & Kotz 1970,
 * ch. 31). The test at level α rejects when |T| > c = t_{1−α/2, n−1}, which is exactly when the report's
 * (1 − α) interval excludes 0; its power is P(T > c) + P(T < −c), as R's
 * `power.t.test(type = "paired", strict = TRUE)` computes it.
 *
 * No maintained npm package has the noncentral t distribution, so it is computed here from its definition:
 * T = (Z + δ) / S with Z standard normal and S = √(χ²_df / df) independent of it, hence
 * P(T ≤ t) = E_S[Φ(t·S − δ)], a one-dimensional integral of the normal CDF against the density of S.
 * Unlike the Poisson-weighted series (Lenth 1989, AS 243), whose first weight e^{−δ²/2} underflows for
 * large δ (R's `pt` switches to a normal approximation above δ = 37.62, off by 7e-4 at df = 1), the
 * integral stays accurate for any δ.
 */
import { cumulativeNormal } from 'vega-statistics';
import { studentTQuantile } from './stats.js';

/** Simpson steps per unit of the finer of the two scales the integrand varies on (see below); the rule's error
 *  falls as step⁴, and 200 keep it below 1e-11 against R's `pt` and `integrate` (test/power.test.ts). */
const STEPS_PER_SCALE = 200;

/**
 * E[g(S)] for S = √(χ²_df / df), by Simpson's rule over 1 ± 10/√df (cut at 0): S has mean ≈ 1 and standard
 * deviation ≈ 1/√(2·df), so the range leaves out less than 1e-20 of its mass for any df ≥ 1. The step follows
 * the finer of that spread and 1/|slope|, the scale on which g = Φ(slope·s + ·) changes. The density
 * ∝ s^{df−1}·e^{−df·s²/2} is taken relative to its mode and normalised by the same quadrature, so neither
 * Γ(df/2) nor an overflowing power enters and the quadrature error of the normalisation cancels.
 */
function scaledChiExpectation(df: number, slope: number, g: (s: number) => number): number {
  const halfWidth = 10 / Math.sqrt(df);
  const low = Math.max(0, 1 - halfWidth);
  const high = 1 + halfWidth;
  const scale = Math.min(1 / Math.sqrt(2 * df), 1 / Math.max(1, Math.abs(slope)));
  const intervals = 2 * Math.ceil((((high - low) / scale) * STEPS_PER_SCALE) / 2);
  const step = (high - low) / intervals;
  const mode = Math.sqrt((df - 1) / df);
  let mass = 0;
  let weighted = 0;
  for (let i = 0; i <= intervals; i++) {
    const s = low + i * step;
    const weight = i === 0 || i === intervals ? 1 : i % 2 === 1 ? 4 : 2;
    const powerTerm = df === 1 ? 0 : (df - 1) * Math.log(s / mode); // −∞ at s = 0: density 0
    const density = Math.exp(powerTerm - (df * (s * s - mode * mode)) / 2);
    mass += weight * density;
    weighted += weight * density * g(s);
  }
  return weighted / mass;
}

function checkDf(df: number, what: string): void {
  if (!(Number.isFinite(df) && df >= 1)) throw new Error(`${what} needs degrees of freedom df ≥ 1, got ${df}`);
}

/** P(T ≤ t) for the noncentral t distribution with `df` ≥ 1 degrees of freedom and noncentrality `ncp`. */
export function noncentralTCdf(t: number, df: number, ncp: number): number {
  checkDf(df, 'noncentralTCdf');
  if (!Number.isFinite(ncp)) throw new Error(`noncentralTCdf needs a finite noncentrality, got ${ncp}`);
  if (Number.isNaN(t)) return Number.NaN;
  return scaledChiExpectation(df, t, (s) => cumulativeNormal(t * s - ncp));
}

/**
 * Power of the two-sided one-sample t-test at level `alpha` with n values whose true mean is `effect` and
 * standard deviation `sd`: P(T > c) + P(T < −c), T noncentral t with df = n − 1 and ncp = effect·√n / sd.
 */
export function pairedTTestPower(n: number, effect: number, sd: number, alpha = 0.05): number {
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`pairedTTestPower needs an integer n ≥ 2, got ${n}`);
  if (!Number.isFinite(effect)) throw new Error(`pairedTTestPower needs a finite effect, got ${effect}`);
  if (!(Number.isFinite(sd) && sd > 0)) throw new Error(`pairedTTestPower needs sd > 0, got ${sd}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`pairedTTestPower needs 0 < alpha < 1, got ${alpha}`);
  const df = n - 1;
  const critical = studentTQuantile(1 - alpha / 2, df);
  const ncp = (effect * Math.sqrt(n)) / sd;
  return scaledChiExpectation(
    df,
    critical,
    (s) => cumulativeNormal(ncp - critical * s) + cumulativeNormal(-ncp - critical * s),
  );
}

export interface PowerTarget {
  /** Power wanted (default 0.8). */
  readonly power?: number;
  /** Level of the two-sided test (default 0.05: a 95% interval that excludes 0). */
  readonly alpha?: number;
  /** Largest n searched (default 10 000); beyond it the answer is `{ moreThan: cap }`. */
  readonly cap?: number;
}

/** The default search cap of `samplesForPower`. */
export const POWER_SEARCH_CAP = 10_000;

/**
 * The smallest n for which the two-sided paired t-test at level α has at least the wanted power when the true
 * mean is `effect` and the standard deviation `sd`; `{ moreThan: cap }` when even n = cap falls short; null
 * for effect 0 (there is nothing to detect) or sd 0 (no spread: any two values settle it, and there is no
 * power to compute). Power grows with n, so the search doubles n until it suffices and then bisects.
 */
export function samplesForPower(
  effect: number,
  sd: number,
  target: PowerTarget = {},
): number | { readonly moreThan: number } | null {
  const { power = 0.8, alpha = 0.05, cap = POWER_SEARCH_CAP } = target;
  if (!Number.isFinite(effect)) throw new Error(`samplesForPower needs a finite effect, got ${effect}`);
  if (!(Number.isFinite(sd) && sd >= 0)) throw new Error(`samplesForPower needs a finite sd ≥ 0, got ${sd}`);
  if (!(power > 0 && power < 1)) throw new Error(`samplesForPower needs 0 < power < 1, got ${power}`);
  if (!(Number.isInteger(cap) && cap >= 2)) throw new Error(`samplesForPower needs an integer cap ≥ 2, got ${cap}`);
  if (effect === 0 || sd === 0) return null;
  const enough = (n: number) => pairedTTestPower(n, effect, sd, alpha) >= power;
  if (enough(2)) return 2;
  let short = 2;
  let long = Math.min(4, cap);
  while (!enough(long)) {
    if (long === cap) return { moreThan: cap };
    short = long;
    long = Math.min(2 * long, cap);
  }
  while (long - short > 1) {
    const middle = Math.floor((short + long) / 2);
    if (enough(middle)) long = middle;
    else short = middle;
  }
  return long;
}

/**
 * Statistics over seeds and over training curves: the numbers every report and claim is built from.
 *
 * Intervals are Student-t intervals for a mean (Student 1908): mean ± t_{1−α/2, n−1} · s / √n,
 * with s the sample standard deviation (n − 1 in the denominator). The t quantile is computed
 * exactly, by inverting the t distribution function written with the regularised incomplete beta
 * function (Numerical Recipes §6.4), not taken from an approximation.
 */

/** Summary of one sample of per-seed values. `interval` is null when n < 2 (no spread to estimate). */
export interface Summary {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); NaN when n < 2. */
  readonly std: number;
  /** Two-sided confidence interval for the mean at `level`, or null when n < 2. */
  readonly interval: { readonly low: number; readonly high: number } | null;
  readonly level: number;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean of an empty sample');
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/** Sample standard deviation with n − 1 in the denominator; NaN for fewer than two values. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  let sum = 0;
  for (const value of values) sum += (value - m) ** 2;
  return Math.sqrt(sum / (values.length - 1));
}

/** Mean, sample std and the Student-t confidence interval (default 95%) of per-seed values. */
export function summarize(values: readonly number[], level = 0.95): Summary {
  for (const value of values) {
    if (!Number.isFinite(value)) throw new Error(`summarize: sample holds a non-finite value (${value})`);
  }
  if (!(level > 0 && level < 1)) throw new Error(`summarize: confidence level must lie in (0, 1), got ${level}`);
  const n = values.length;
  const m = mean(values);
  if (n < 2) return { n, mean: m, std: Number.NaN, interval: null, level };
  const std = sampleStd(values);
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (std / Math.sqrt(n));
  return { n, mean: m, std, interval: { low: m - half, high: m + half }, level };
}

/** Per-pair differences a_i − b_i and their summary. Pairs are matched by position: same seed, same index. */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): Summary & { readonly differences: number[] } {
  if (a.length !== b.length)
    throw new Error(`pairedDifference: samples differ in length (${a.length} vs ${b.length}); pair them by seed first`);
  const differences = a.map((value, i) => value - b[i]!);
  return { ...summarize(differences, level), differences };
}

// ---------------------------------------------------------------------------------------------
// Student t distribution

/** ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms; relative error ≈ 1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new Error(`logGamma needs x > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < c.length; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Regularised incomplete beta function I_x(a, b), by Lentz's continued fraction. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new Error(`regularizedIncompleteBeta needs a, b > 0, got a=${a}, b=${b}`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use the symmetry.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const epsilon = 1e-15;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let numerator = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    numerator = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < epsilon) return h;
  }
  throw new Error(`regularizedIncompleteBeta: continued fraction did not converge (x=${x}, a=${a}, b=${b})`);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom: 1 − ½·I_{df/(df+t²)}(df/2, ½) for t ≥ 0. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTCdf needs df > 0, got ${df}`);
  if (Number.isNaN(t)) return Number.NaN;
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom, by bisection on the exact CDF. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile needs 0 < p < 1, got ${p}`);
  if (!(df > 0)) throw new Error(`studentTQuantile needs df > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) {
    low = high;
    high *= 2;
    if (high > 1e12) throw new Error(`studentTQuantile: quantile ${p} for df=${df} is beyond 1e12`);
  }
  // 200 halvings reach the limit of double precision for any bracket up to 1e12.
  for (let i = 0; i < 200 && high - low > 1e-13 * Math.max(1, high); i++) {
    const middle = (low + high) / 2;
    if (studentTCdf(middle, df) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

// ---------------------------------------------------------------------------------------------
// Curves (training accuracy against iterations)

/** A curve sampled at increasing iterations. */
export interface CurvePoint {
  readonly iteration: number;
  readonly value: number;
}

function checkCurve(curve: readonly CurvePoint[], what: string): void {
  if (curve.length === 0) throw new Error(`${what}: the curve is empty`);
  for (let i = 1; i < curve.length; i++) {
    if (!(curve[i]!.iteration > curve[i - 1]!.iteration)) {
      throw new Error(
        `${what}: iterations must increase strictly (point ${i}: ${curve[i - 1]!.iteration} then ${curve[i]!.iteration})`,
      );
    }
  }
}

/** The curve's value at `iteration`, linearly interpolated between the two nearest points.
 *  Outside the sampled range it is undefined: returns null rather than extrapolating. */
export function valueAt(curve: readonly CurvePoint[], iteration: number): number | null {
  checkCurve(curve, 'valueAt');
  const first = curve[0]!;
  const last = curve[curve.length - 1]!;
  if (iteration < first.iteration || iteration > last.iteration) return null;
  for (let i = 1; i < curve.length; i++) {
    const right = curve[i]!;
    if (iteration <= right.iteration) {
      const left = curve[i - 1]!;
      const w = (iteration - left.iteration) / (right.iteration - left.iteration);
      return left.value + w * (right.value - left.value);
    }
  }
  return first.value;
}

/** First iteration at which the curve reaches `threshold`, interpolated linearly inside the segment
 *  where it first crosses; null if it never does. */
export function iterationsToThreshold(curve: readonly CurvePoint[], threshold: number): number | null {
  checkCurve(curve, 'iterationsToThreshold');
  if (curve[0]!.value >= threshold) return curve[0]!.iteration;
  for (let i = 1; i < curve.length; i++) {
    const left = curve[i - 1]!;
    const right = curve[i]!;
    if (right.value >= threshold) {
      const w = (threshold - left.value) / (right.value - left.value);
      return left.iteration + w * (right.iteration - left.iteration);
    }
  }
  return null;
}

/** Area under the curve by the trapezoid rule, with iterations rescaled so [start, end] becomes [0, 1]
 *  (the result is the curve's mean value over the window). `start`/`end` default to the curve's first and
 *  last iteration; both must lie inside the sampled range. */
export function areaUnderCurve(curve: readonly CurvePoint[], window: { start?: number; end?: number } = {}): number {
  checkCurve(curve, 'areaUnderCurve');
  const start = window.start ?? curve[0]!.iteration;
  const end = window.end ?? curve[curve.length - 1]!.iteration;
  if (!(end > start)) throw new Error(`areaUnderCurve: window end ${end} must exceed start ${start}`);
  const startValue = valueAt(curve, start);
  const endValue = valueAt(curve, end);
  if (startValue === null || endValue === null) {
    throw new Error(
      `areaUnderCurve: window [${start}, ${end}] leaves the sampled iterations [${curve[0]!.iteration}, ${curve[curve.length - 1]!.iteration}]`,
    );
  }
  const points: CurvePoint[] = [{ iteration: start, value: startValue }];
  for (const point of curve) if (point.iteration > start && point.iteration < end) points.push(point);
  points.push({ iteration: end, value: endValue });
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const left = points[i - 1]!;
    const right = points[i]!;
    area += ((right.iteration - left.iteration) * (left.value + right.value)) / 2;
  }
  return area / (end - start);
}

/** Least-squares slope of y on x (ordinary linear regression). */
export function linearSlope(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`linearSlope: x has ${x.length} values, y has ${y.length}`);
  if (x.length < 2) throw new Error('linearSlope needs at least two points');
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  if (sxx === 0) throw new Error('linearSlope: all x values are equal');
  return sxy / sxx;
}

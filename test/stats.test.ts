import { describe, expect, it } from 'vitest';
import {
  areaUnderCurve,
  iterationsToThreshold,
  linearSlope,
  logGamma,
  mean,
  pairedDifference,
  regularizedIncompleteBeta,
  sampleStd,
  studentTCdf,
  studentTQuantile,
  summarize,
  valueAt,
} from '../src/report/stats.js';

// Two-sided 95% critical values t_{0.975, df}, df = 1..30, from the standard printed table (3 decimals).
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

describe('Student t quantile', () => {
  it.each(T975.map((value, i) => [i + 1, value] as const))('t_0.975 with df=%i is %f', (df, value) => {
    expect(studentTQuantile(0.975, df)).toBeCloseTo(value, 3);
  });

  it('matches other table entries and closed forms', () => {
    expect(studentTQuantile(0.95, 1)).toBeCloseTo(6.314, 3);
    expect(studentTQuantile(0.95, 10)).toBeCloseTo(1.812, 3);
    expect(studentTQuantile(0.995, 5)).toBeCloseTo(4.032, 3);
    expect(studentTQuantile(0.9995, 3)).toBeCloseTo(12.924, 3);
    // df = 1 is the Cauchy distribution: quantile tan(π(p − ½)).
    expect(studentTQuantile(0.9, 1)).toBeCloseTo(Math.tan(Math.PI * 0.4), 9);
    // df = 2 has the closed form (2p − 1)·sqrt(2 / (4p(1 − p))).
    const p = 0.8;
    expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) * Math.sqrt(2 / (4 * p * (1 - p))), 9);
    // Large df approaches the normal quantile 1.959964.
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(1.959964, 5);
  });

  it('is antisymmetric and inverts the CDF', () => {
    expect(studentTQuantile(0.5, 4)).toBe(0);
    expect(studentTQuantile(0.025, 7)).toBeCloseTo(-studentTQuantile(0.975, 7), 12);
    for (const df of [1, 2.5, 9, 40]) {
      for (const q of [0.6, 0.9, 0.99]) expect(studentTCdf(studentTQuantile(q, df), df)).toBeCloseTo(q, 10);
    }
  });

  it('rejects bad arguments with a message', () => {
    expect(() => studentTQuantile(1, 3)).toThrow('0 < p < 1');
    expect(() => studentTQuantile(0.9, 0)).toThrow('df > 0');
  });
});

describe('special functions', () => {
  it('logGamma matches factorials and Γ(½) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(6)).toBeCloseTo(Math.log(120), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 10);
  });

  it('regularised incomplete beta matches closed forms', () => {
    // I_x(a, 1) = x^a and I_x(1, b) = 1 − (1 − x)^b.
    expect(regularizedIncompleteBeta(0.3, 2.5, 1)).toBeCloseTo(0.3 ** 2.5, 12);
    expect(regularizedIncompleteBeta(0.7, 1, 3)).toBeCloseTo(1 - 0.3 ** 3, 12);
    // Symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
    expect(regularizedIncompleteBeta(0.2, 3, 5)).toBeCloseTo(1 - regularizedIncompleteBeta(0.8, 5, 3), 12);
    expect(regularizedIncompleteBeta(0, 2, 2)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 2)).toBe(1);
  });
});

describe('summaries over seeds', () => {
  it('computes mean, sample std and the t interval', () => {
    const values = [1, 2, 3, 4];
    expect(mean(values)).toBe(2.5);
    expect(sampleStd(values)).toBeCloseTo(Math.sqrt(5 / 3), 12);
    const s = summarize(values);
    const half = 3.182446305284263 * (Math.sqrt(5 / 3) / 2);
    expect(s.interval!.low).toBeCloseTo(2.5 - half, 9);
    expect(s.interval!.high).toBeCloseTo(2.5 + half, 9);
  });

  it('has no interval for one value and rejects non-finite values', () => {
    const s = summarize([0.7]);
    expect(s.interval).toBeNull();
    expect(Number.isNaN(s.std)).toBe(true);
    expect(() => summarize([1, Number.NaN])).toThrow('non-finite');
    expect(() => mean([])).toThrow('empty');
  });

  it('pairs differences by position', () => {
    const d = pairedDifference([3, 5, 7], [1, 2, 3]);
    expect(d.differences).toEqual([2, 3, 4]);
    expect(d.mean).toBe(3);
    expect(d.interval!.low).toBeCloseTo(3 - 4.302652729911275 / Math.sqrt(3), 9);
    expect(() => pairedDifference([1], [1, 2])).toThrow('differ in length');
  });
});

describe('curve statistics', () => {
  const curve = [
    { iteration: 0, value: 0.1 },
    { iteration: 100, value: 0.5 },
    { iteration: 200, value: 0.7 },
    { iteration: 400, value: 0.9 },
  ];

  it('interpolates values and refuses to extrapolate', () => {
    expect(valueAt(curve, 50)).toBeCloseTo(0.3, 12);
    expect(valueAt(curve, 300)).toBeCloseTo(0.8, 12);
    expect(valueAt(curve, 400)).toBeCloseTo(0.9, 12);
    expect(valueAt(curve, 401)).toBeNull();
  });

  it('finds the first crossing of a threshold', () => {
    expect(iterationsToThreshold(curve, 0.5)).toBe(100);
    expect(iterationsToThreshold(curve, 0.8)).toBeCloseTo(300, 9);
    expect(iterationsToThreshold(curve, 0.05)).toBe(0);
    expect(iterationsToThreshold(curve, 0.95)).toBeNull();
  });

  it('computes the normalised trapezoid area', () => {
    // Trapezoids: 100·0.3 + 100·0.6 + 200·0.8 = 250 over 400 iterations.
    expect(areaUnderCurve(curve)).toBeCloseTo(250 / 400, 12);
    // A constant curve has area equal to its value on any window.
    expect(
      areaUnderCurve(
        [
          { iteration: 3, value: 0.4 },
          { iteration: 9, value: 0.4 },
        ],
        { start: 4, end: 8 },
      ),
    ).toBeCloseTo(0.4, 12);
    // Window [50, 300]: trapezoids 50·0.4 + 100·0.6 + 100·0.75 = 155 over 250.
    expect(areaUnderCurve(curve, { start: 50, end: 300 })).toBeCloseTo(155 / 250, 12);
    expect(() => areaUnderCurve(curve, { start: 0, end: 500 })).toThrow('leaves the sampled iterations');
    expect(() =>
      areaUnderCurve([
        { iteration: 1, value: 0 },
        { iteration: 1, value: 1 },
      ]),
    ).toThrow('increase strictly');
  });

  it('fits a least-squares slope', () => {
    expect(linearSlope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2, 12);
    expect(() => linearSlope([1, 1], [0, 1])).toThrow('all x values are equal');
  });
});

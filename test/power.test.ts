/**
 * Power of the paired t-test and the seeds it needs, checked against R 4.2.2 (stats::power.t.test and pt,
 * which compute the noncentral t by AS 243) and against a seeded simulation of the test itself.
 */
import { describe, expect, it } from 'vitest';
import { noncentralTCdf, pairedTTestPower, samplesForPower } from '../src/report/power.js';
import { mean, sampleStd, studentTCdf, studentTQuantile } from '../src/report/stats.js';
import { Rng } from '../src/tensor/rng.js';

describe('sample size for 80% power', () => {
  it("matches R's power.t.test for the paired test", () => {
    // power.t.test(delta = 1, sd = 1, power = 0.8, type = "paired", strict = TRUE)$n = 9.93785029051807
    expect(samplesForPower(1, 1)).toBe(10);
    // power.t.test(delta = 0.5, sd = 1, power = 0.8, type = "paired", strict = TRUE)$n = 33.3671291039066
    expect(samplesForPower(0.5, 1)).toBe(34);
    // Only effect / sd matters, and not its sign.
    expect(samplesForPower(-2, 2)).toBe(10);
    expect(samplesForPower(0.05, 0.1)).toBe(34);
  });

  it('is the smallest n whose power reaches the target', () => {
    for (const [effect, sd] of [
      [1, 1],
      [0.5, 1],
      [0.3, 2],
      [3, 1],
    ] as const) {
      const n = samplesForPower(effect, sd) as number;
      expect(pairedTTestPower(n, effect, sd)).toBeGreaterThanOrEqual(0.8);
      if (n > 2) expect(pairedTTestPower(n - 1, effect, sd)).toBeLessThan(0.8);
    }
    // A huge effect is settled by the fewest seeds an interval needs.
    expect(samplesForPower(100, 1)).toBe(2);
    expect(samplesForPower(1, 1, { power: 0.9 })).toBe(13); // power.t.test(..., power = 0.9)$n = 12.585
  });

  it('returns null without an effect or without spread, and reports a search beyond the cap', () => {
    expect(samplesForPower(0, 1)).toBeNull();
    expect(samplesForPower(0.3, 0)).toBeNull();
    // Needs about (2.8 / 0.01)² ≈ 78 500 seeds.
    expect(samplesForPower(0.01, 1)).toEqual({ moreThan: 10_000 });
    expect(samplesForPower(0.5, 1, { cap: 33 })).toEqual({ moreThan: 33 });
    expect(samplesForPower(0.5, 1, { cap: 34 })).toBe(34);
    expect(samplesForPower(0.5, 1, { cap: 2 })).toEqual({ moreThan: 2 });
  });

  it('rejects bad arguments with a message', () => {
    expect(() => samplesForPower(Number.NaN, 1)).toThrow('finite effect');
    expect(() => samplesForPower(1, -1)).toThrow('sd ≥ 0');
    expect(() => samplesForPower(1, 1, { power: 1 })).toThrow('0 < power < 1');
    expect(() => samplesForPower(1, 1, { cap: 1.5 })).toThrow('integer cap ≥ 2');
    expect(() => pairedTTestPower(1, 1, 1)).toThrow('integer n ≥ 2');
    expect(() => pairedTTestPower(5, 1, 0)).toThrow('sd > 0');
    expect(() => pairedTTestPower(5, 1, 1, 0)).toThrow('0 < alpha < 1');
    expect(() => noncentralTCdf(1, 0.5, 0)).toThrow('df ≥ 1');
  });
});

describe('power of the paired t-test', () => {
  // [n, delta, sd, power.t.test(n, delta, sd, type = "paired", strict = TRUE)$power]
  const R_POWER = [
    [2, 1, 1, 0.092809155056535],
    [3, 2, 1, 0.470749431279045],
    [9, 1, 1, 0.748017092229654],
    [10, 1, 1, 0.803096856633018],
    [33, 0.5, 1, 0.79536584148763],
    [34, 0.5, 1, 0.80777750127944],
    [5, 0.3, 2, 0.058011267870425],
    [100, 0.1, 0.5, 0.508264806621051],
    [10_000, 0.01, 1, 0.170051356746891],
    [2, 0.001, 1, 0.050000049795062],
  ] as const;

  it.each(R_POWER)("n=%i, delta=%f, sd=%f matches R's power.t.test", (n, delta, sd, power) => {
    expect(pairedTTestPower(n, delta, sd)).toBeCloseTo(power, 10);
  });

  it('stays exact where R approximates: a noncentrality above 37.62', () => {
    // n = 2, delta = 30: ncp = 42.4, where R's pt uses a normal approximation and power.t.test gives 0.999863.
    // The same integral by R's integrate(), rel.tol = 1e-13, is 0.999127594184607, and a simulation with
    // 2e6 draws gives 0.999113.
    expect(pairedTTestPower(2, 30, 1)).toBeCloseTo(0.999127594184607, 10);
  });

  it('is α without an effect, for any n', () => {
    for (const n of [2, 3, 6, 31, 500, 10_000]) expect(pairedTTestPower(n, 0, 1)).toBeCloseTo(0.05, 10);
    expect(pairedTTestPower(8, 0, 1, 0.2)).toBeCloseTo(0.2, 10);
  });

  it('agrees with a seeded simulation of the test', () => {
    const rng = new Rng(20_261_206, 'power-check');
    const replicates = 20_000;
    for (const [n, effect, sd] of [
      [3, 2, 1],
      [5, 0.8, 1],
      [10, 1, 1],
      [8, 0.3, 0.5],
      [20, -0.5, 1],
    ] as const) {
      const critical = studentTQuantile(0.975, n - 1);
      let rejected = 0;
      for (let r = 0; r < replicates; r++) {
        const sample = Array.from({ length: n }, () => effect + sd * rng.normal());
        const t = mean(sample) / (sampleStd(sample) / Math.sqrt(n));
        if (Math.abs(t) > critical) rejected++;
      }
      // The simulated rate has a standard error below 0.0036; ±0.015 is more than four of them.
      expect(
        Math.abs(pairedTTestPower(n, effect, sd) - rejected / replicates),
        `n=${n}, effect=${effect}`,
      ).toBeLessThan(0.015);
    }
  });
});

describe('noncentral t distribution', () => {
  // [t, df, ncp, pt(t, df, ncp = ncp)] from R
  const R_PT = [
    [1.5, 1, 2, 0.262935096197965],
    [-1, 4, 0.5, 0.0861495690369525],
    [12.7, 1, 17, 0.182055682962293],
    [2.2, 30, 3, 0.215483207993535],
    [0.3, 9999, 2.8, 0.00620963245717387],
    [-3, 2, -1, 0.166440573663318],
  ] as const;

  it.each(R_PT)("P(T ≤ %f) with df=%i, ncp=%f matches R's pt", (t, df, ncp, p) => {
    expect(noncentralTCdf(t, df, ncp)).toBeCloseTo(p, 10);
  });

  it('is the central t distribution at ncp 0', () => {
    for (const df of [1, 2, 7, 120, 9999]) {
      for (const t of [-3, -0.4, 0, 1.1, 2.5]) expect(noncentralTCdf(t, df, 0)).toBeCloseTo(studentTCdf(t, df), 10);
    }
  });
});

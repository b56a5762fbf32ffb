/** Learning-rate schedules: pure functions of the step, composable with warm-up, built from config. */
import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineSchedule, scheduleFromConfig, stepSchedule, withWarmup } from '../src/optim/index.js';

describe('schedules', () => {
  it('constant', () => {
    const s = constantSchedule(0.01);
    expect([0, 1, 1000].map(s)).toEqual([0.01, 0.01, 0.01]);
  });

  it('step: gamma every stepSize steps', () => {
    const s = stepSchedule({ lr: 0.1, gamma: 0.5, stepSize: 10 });
    expect(s(0)).toBe(0.1);
    expect(s(9)).toBe(0.1);
    expect(s(10)).toBe(0.05);
    expect(s(25)).toBe(0.025);
  });

  it('cosine: from lr down to minLr over totalSteps, then flat', () => {
    const s = cosineSchedule({ lr: 1, minLr: 0.1, totalSteps: 100 });
    expect(s(0)).toBe(1);
    expect(s(50)).toBeCloseTo(0.55, 12);
    expect(s(25)).toBeCloseTo(0.1 + (0.9 * (1 + Math.SQRT1_2)) / 2, 12);
    expect(s(100)).toBe(0.1);
    expect(s(500)).toBe(0.1);
    for (let i = 1; i < 100; i++) expect(s(i)).toBeLessThan(s(i - 1));
  });

  it('linear warm-up, then the inner schedule from its own step 0', () => {
    const s = withWarmup(stepSchedule({ lr: 0.2, gamma: 0.1, stepSize: 3 }), 4);
    [0.05, 0.1, 0.15, 0.2].forEach((lr, step) => expect(s(step)).toBeCloseTo(lr, 15));
    expect(s(4)).toBe(0.2);
    expect(s(6)).toBe(0.2);
    expect(s(7)).toBeCloseTo(0.02, 15);
    expect(withWarmup(constantSchedule(0.3), 0)(0)).toBe(0.3);
  });

  it('are pure functions of the step: any order, any repetition', () => {
    const s = withWarmup(cosineSchedule({ lr: 0.1, totalSteps: 50 }), 5);
    const forward = Array.from({ length: 60 }, (_, i) => s(i));
    const backward = Array.from({ length: 60 }, (_, i) => s(59 - i)).reverse();
    expect(backward).toEqual(forward);
  });

  it('reject invalid settings and steps', () => {
    expect(() => constantSchedule(0)).toThrow(/lr must be a positive number, got 0/);
    expect(() => stepSchedule({ lr: 0.1, gamma: 0.5, stepSize: 2.5 })).toThrow(/stepSize must be an integer/);
    expect(() => cosineSchedule({ lr: 0.1, minLr: 0.2, totalSteps: 10 })).toThrow(
      /minLr must be in \[0, lr=0.1\], got 0.2/,
    );
    expect(() => constantSchedule(0.1)(-1)).toThrow(/step must be a non-negative integer, got -1/);
    expect(() => constantSchedule(0.1)(1.5)).toThrow(/got 1.5/);
  });
});

describe('scheduleFromConfig', () => {
  it('builds the same schedules as the functions', () => {
    const fromConfig = scheduleFromConfig({ type: 'cosine', lr: 0.1, minLr: 0.01, totalSteps: 20, warmupSteps: 3 });
    const direct = withWarmup(cosineSchedule({ lr: 0.1, minLr: 0.01, totalSteps: 20 }), 3);
    for (let i = 0; i < 30; i++) expect(fromConfig(i)).toBe(direct(i));
    expect(scheduleFromConfig({ type: 'constant', lr: 0.5 })(7)).toBe(0.5);
    expect(scheduleFromConfig({ type: 'step', lr: 1, gamma: 0.1, stepSize: 5 })(5)).toBeCloseTo(0.1, 15);
  });

  it('names the invalid field', () => {
    expect(() => scheduleFromConfig({ type: 'step', lr: 0.1, gamma: 0.5, stepSize: 0 })).toThrow(
      /invalid learning-rate schedule config: stepSize/,
    );
    expect(() => scheduleFromConfig({ type: 'cosine', lr: 0.1, totalSteps: 10, warmup: 3 } as never)).toThrow(
      /Unrecognized key.*warmup/,
    );
    expect(() => scheduleFromConfig({ type: 'linear', lr: 0.1 } as never)).toThrow(
      /invalid learning-rate schedule config: type/,
    );
  });
});

/**
 * Learning-rate schedules as pure functions of the step number (the number of optimiser steps
 * already taken: 0 for the first step). Nothing is stored, so a resumed run gets exactly the
 * rate it would have had: `optimizer.lr = schedule(step)` before each step.
 */
import { z } from 'zod';

export type Schedule = (step: number) => number;

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`learning-rate schedule: step must be a non-negative integer, got ${step}`);
}

function checkPositive(where: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!(Number.isFinite(value) && value > 0))
      throw new Error(`${where}: ${name} must be a positive number, got ${value}`);
  }
}

export function constantSchedule(lr: number): Schedule {
  checkPositive('constant schedule', { lr });
  return (step) => {
    checkStep(step);
    return lr;
  };
}

/** lr · gamma^⌊step / stepSize⌋ (PyTorch's StepLR). */
export function stepSchedule(options: { lr: number; gamma: number; stepSize: number }): Schedule {
  const { lr, gamma, stepSize } = options;
  checkPositive('step schedule', { lr, gamma, stepSize });
  if (!Number.isInteger(stepSize)) throw new Error(`step schedule: stepSize must be an integer, got ${stepSize}`);
  return (step) => {
    checkStep(step);
    return lr * gamma ** Math.floor(step / stepSize);
  };
}

/**
 * minLr + (lr − minLr)·(1 + cos(π·step/totalSteps))/2, then minLr after totalSteps (PyTorch's CosineAnnealingLR, one
 * half-period).
 */
export function cosineSchedule(options: { lr: number; minLr?: number; totalSteps: number }): Schedule {
  const { lr, totalSteps } = options;
  const minLr = options.minLr ?? 0;
  checkPositive('cosine schedule', { lr, totalSteps });
  if (!Number.isInteger(totalSteps))
    throw new Error(`cosine schedule: totalSteps must be an integer, got ${totalSteps}`);
  if (!(minLr >= 0 && minLr <= lr)) throw new Error(`cosine schedule: minLr must be in [0, lr=${lr}], got ${minLr}`);
  return (step) => {
    checkStep(step);
    if (step >= totalSteps) return minLr;
    return minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
  };
}

/**
 * Linear warm-up before another schedule: step s < warmupSteps gets inner(0)·(s+1)/warmupSteps;
 * afterwards the inner schedule runs from its own step 0 (so its totalSteps count after warm-up).
 */
export function withWarmup(inner: Schedule, warmupSteps: number): Schedule {
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0)
    throw new Error(`warm-up: warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  if (warmupSteps === 0) return inner;
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return (inner(0) * (step + 1)) / warmupSteps;
    return inner(step - warmupSteps);
  };
}

const positive = z.number().positive();
const warmup = { warmupSteps: z.number().int().nonnegative().default(0) };

/** Schedule settings as they appear in experiment configs. */
export const scheduleConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), lr: positive, ...warmup }).strict(),
  z
    .object({
      type: z.literal('step'),
      lr: positive,
      gamma: positive,
      stepSize: z.number().int().positive(),
      ...warmup,
    })
    .strict(),
  z
    .object({
      type: z.literal('cosine'),
      lr: positive,
      minLr: z.number().nonnegative().default(0),
      totalSteps: z.number().int().positive(),
      ...warmup,
    })
    .strict(),
]);

export type ScheduleConfig = z.input<typeof scheduleConfigSchema>;

/** Build a schedule from config; invalid settings throw naming the field. */
export function scheduleFromConfig(config: ScheduleConfig): Schedule {
  const parsed = scheduleConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new Error(`invalid learning-rate schedule config: ${issues}`);
  }
  const c = parsed.data;
  let schedule: Schedule;
  switch (c.type) {
    case 'constant':
      schedule = constantSchedule(c.lr);
      break;
    case 'step':
      schedule = stepSchedule(c);
      break;
    case 'cosine':
      schedule = cosineSchedule(c);
      break;
  }
  return withWarmup(schedule, c.warmupSteps);
}

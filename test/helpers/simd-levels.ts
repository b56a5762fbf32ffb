/**
 * The SIMD levels of the native addon (generic, avx2, avx512; native/src/cpu_features.h), so that
 * a native test suite can run every code path this CPU has: `describe.each(supportedSimdLevels(addon))`
 * with `useSimdLevel(addon, level)` inside, or `withSimdLevel` around one check.
 */
import { afterAll, beforeAll } from 'vitest';

export interface SimdControl {
  simdLevel(): string;
  /** Returns the previous level; throws for a level this CPU lacks. */
  setSimdLevel(level: string): string;
}

/** The addon's SIMD controls; throws when a loaded addon lacks them (a broken build). */
export function simdControl(addon: Record<string, unknown>): SimdControl {
  const { simdLevel, setSimdLevel } = addon;
  if (typeof simdLevel !== 'function' || typeof setSimdLevel !== 'function')
    throw new Error('the native addon does not export simdLevel and setSimdLevel');
  return addon as unknown as SimdControl;
}

/** The levels this CPU supports, lowest first, found by trying each. */
export function supportedSimdLevels(addon: SimdControl): string[] {
  const original = addon.simdLevel();
  const levels: string[] = [];
  for (const level of ['generic', 'avx2', 'avx512']) {
    try {
      addon.setSimdLevel(level);
      levels.push(level);
    } catch {
      // this CPU lacks the level
    }
  }
  addon.setSimdLevel(original);
  return levels;
}

/** Runs body at the given level, then restores the previous one. */
export function withSimdLevel<T>(addon: SimdControl, level: string, body: () => T): T {
  const previous = addon.setSimdLevel(level);
  try {
    return body();
  } finally {
    addon.setSimdLevel(previous);
  }
}

/** Sets the level for the tests of the enclosing describe block, and restores it after them. */
export function useSimdLevel(addon: SimdControl, level: string): void {
  let previous = '';
  beforeAll(() => {
    previous = addon.setSimdLevel(level);
  });
  afterAll(() => {
    addon.setSimdLevel(previous);
  });
}

/**
 * The WebGPU suites' gate. Without an adapter they skip and print why, unless
 * RANDLAB_REQUIRE_WEBGPU=1 (CI), where test/global-setup.ts has already failed the run.
 */
import { probeWebGpu } from '../../src/kernels/webgpu/index.js';

export const webgpuProbe = await probeWebGpu();
export const webgpuMissing = !webgpuProbe.ok;
if (!webgpuProbe.ok) console.warn(`WebGPU suites skipped: ${webgpuProbe.reason}`);

/** Per element |actual − expected| ≤ bound(i); a NaN must match a NaN. Reports the first violation. */
export function expectWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: (i: number) => number,
  what: string,
): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: ${actual.length} values, the reference has ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (Object.is(a, e)) continue;
    if (!(Math.abs(a - e) <= bound(i)))
      throw new Error(
        `${what}[${i}]: webgpu ${a}, reference ${e}, |difference| ${Math.abs(a - e)} > bound ${bound(i)}`,
      );
  }
}

/** Bit-for-bit equality up to NaN payloads. */
export function expectExact(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expectWithin(actual, expected, () => 0, what);
}

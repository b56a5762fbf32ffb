/**
 * What the suite needs from the machine, checked once before any test runs. A developer without a C++
 * compiler or without the data sets gets skipped suites; CI sets RANDLAB_REQUIRE_NATIVE=1 and RANDLAB_DATA,
 * and then a missing addon or data set stops the run at once with the reason, instead of letting the
 * native and real-data suites skip themselves into a green run. Likewise RANDLAB_REQUIRE_WEBGPU=1 (CI,
 * with SwiftShader installed) turns a missing WebGPU adapter into a failure instead of skipped suites, and
 * RANDLAB_REQUIRE_BROWSER=1 (CI, with Debian's chromium installed) a missing Chromium for the dashboard's tests.
 */
import { loadNativeKernels } from '../src/kernels/native.js';
import { probeWebGpu } from '../src/kernels/webgpu/index.js';
import { RECIPES } from '../src/experiments/recipes/index.js';
import { browserMissingReason } from './helpers/browser.js';

/** Why the required native addon or data sets are unusable; empty when all is there. */
export function missingRequirements(env: NodeJS.ProcessEnv): string[] {
  if (env.RANDLAB_REQUIRE_NATIVE !== '1') return [];
  const problems = new Set<string>();
  const { addon, reason } = loadNativeKernels();
  if (addon === null) problems.add(`the native addon did not load: ${reason}`);
  const dataRoot = env.RANDLAB_DATA;
  if (dataRoot !== undefined && dataRoot !== '') {
    // Recipes share data sets, so one missing data set is one line, not one per recipe.
    for (const recipe of RECIPES) {
      const availability = recipe.available(dataRoot);
      if (!availability.ok) problems.add(availability.reason);
    }
  }
  return [...problems];
}

/** Why the required WebGPU adapter is unusable; null when it is usable or not required. */
export async function missingWebGpu(env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.RANDLAB_REQUIRE_WEBGPU !== '1') return null;
  const probe = await probeWebGpu();
  return probe.ok ? null : probe.reason;
}

export default async function checkRequirements(): Promise<void> {
  const problems = missingRequirements(process.env);
  if (problems.length > 0) {
    throw new Error(`RANDLAB_REQUIRE_NATIVE=1, but the suite cannot run in full:\n- ${problems.join('\n- ')}`);
  }
  const webgpu = await missingWebGpu(process.env);
  if (webgpu !== null) throw new Error(`RANDLAB_REQUIRE_WEBGPU=1, but the WebGPU suites cannot run: ${webgpu}`);
  const browser = process.env.RANDLAB_REQUIRE_BROWSER === '1' ? browserMissingReason() : null;
  if (browser !== null) throw new Error(`RANDLAB_REQUIRE_BROWSER=1, but the browser suites cannot run: ${browser}`);
}

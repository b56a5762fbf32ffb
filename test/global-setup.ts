/**
 * What the suite needs from the machine, checked once before any test runs. A developer without a C++
 * compiler or without the data sets gets skipped suites; CI sets RANDLAB_REQUIRE_NATIVE=1 and RANDLAB_DATA,
 * and then a missing addon or data set stops the run at once with the reason, instead of letting the
 * native and real-data suites skip themselves into a green run.
 */
import { loadNativeKernels } from '../src/kernels/native.js';
import { RECIPES } from '../src/experiments/recipes/index.js';

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

export default function checkRequirements(): void {
  const problems = missingRequirements(process.env);
  if (problems.length > 0) {
    throw new Error(`RANDLAB_REQUIRE_NATIVE=1, but the suite cannot run in full:\n- ${problems.join('\n- ')}`);
  }
}

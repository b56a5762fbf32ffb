/**
 * `randlab demo` (what `npm start` runs): the Fig. 5 controls on real CIFAR-10 at the demo scale,
 * in about 3 minutes on 2 cores, ending with what it found and the report's path. Without CIFAR-10 it
 * says how to get it and runs the synthetic Gaussian recipe (Fig. 20), which needs no data, instead.
 */
import type { Command } from 'commander';
import { resolveDataRoot } from '../../data/paths.js';
import { getRecipe } from '../../experiments/recipes/index.js';
import { runUntilSignal, summarizeResult } from './experiment.js';

interface DemoCommandOptions {
  dataDir?: string;
  out?: string;
  jobs: string;
  firstSeed: string;
}

export const DEMO_RECIPE = 'fig5-controls';
export const FALLBACK_RECIPE = 'fig20-gaussian-fc';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      `the main demonstration: ${DEMO_RECIPE} on CIFAR-10 at the demo scale (${FALLBACK_RECIPE} when CIFAR-10 is missing), then its report`,
    )
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--out <dir>', 'experiment folder (default experiments-out/<recipe>-demo)')
    .option('--jobs <n>', 'runs at a time', '1')
    .option('--first-seed <n>', 'first seed of the demonstration (repeat it with other seeds: 3, 6, …)', '0')
    .action(async (options: DemoCommandOptions) => {
      const dataRoot = resolveDataRoot(options.dataDir);
      const availability = getRecipe(DEMO_RECIPE).available(dataRoot);
      let recipe = DEMO_RECIPE;
      if (!availability.ok) {
        process.stdout.write(
          `${availability.reason}\n` +
            `To run the CIFAR-10 demonstration, fetch the data (about 170 MB) with \`npx randlab data fetch cifar10\` and run \`npm start\` again.\n` +
            `Running the synthetic Gaussian experiment (${FALLBACK_RECIPE}, no data needed) instead.\n\n`,
        );
        recipe = FALLBACK_RECIPE;
      }
      const jobs = Number(options.jobs);
      if (!Number.isSafeInteger(jobs) || jobs < 1)
        throw new Error(`--jobs must be a positive integer, got '${options.jobs}'`);
      const firstSeed = Number(options.firstSeed);
      if (!Number.isSafeInteger(firstSeed) || firstSeed < 0)
        throw new Error(`--first-seed must be a non-negative integer, got '${options.firstSeed}'`);
      // Ctrl-C stops the runs at their next step with a checkpoint, as `randlab experiment` does.
      const result = await runUntilSignal(
        {
          recipe,
          scale: 'demo',
          jobs,
          firstSeed,
          ...(options.out !== undefined ? { out: options.out } : {}),
          dataRoot,
          log: (line) => process.stdout.write(`${line}\n`),
        },
        () => demoCommand(options),
      );
      if (result === undefined) return; // stopped by a signal: the process is ending by it
      process.stdout.write(`\n${summarizeResult(result)}`);
      process.stdout.write(`\nOpen the report: ${result.report.html}\n`);
    });
}

/** The command line that continues the same demonstration (its folder resumes the stopped runs). */
function demoCommand(options: DemoCommandOptions): string[] {
  return [
    'demo',
    ...(options.firstSeed !== '0' ? ['--first-seed', options.firstSeed] : []),
    ...(options.jobs !== '1' ? ['--jobs', options.jobs] : []),
    ...(options.out !== undefined ? ['--out', options.out] : []),
    ...(options.dataDir !== undefined ? ['--data-dir', options.dataDir] : []),
  ];
}

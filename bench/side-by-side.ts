/**
 * randlab against PyTorch in alternating rounds, for ratios that the machine's drift does not decide.
 *
 *   npx tsx bench/side-by-side.ts [--models mlp] [--rounds 6] [--steps 40] [--json]
 *
 * This machine is shared: the same step can take 30% longer for a minute when a neighbour is busy.
 * A randlab run and a PyTorch run minutes apart can therefore land on different sides of such a
 * slow spell, and their ratio says as much about the spell as about the code. Here each round runs
 * `randlab bench` and then `bench/pytorch.py` (best over its thread layouts) on the same models,
 * back to back, and reports each round's ratio and their median, minimum and maximum. Needs
 * /usr/bin/python3 with torch (see bench/RESULTS.md) and a built checkout (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { median } from '../src/runs/bench.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

interface ModelRate {
  model: string;
  images_per_s: number;
}

/** The `{"model", "images_per_s", …}` lines of a benchmark's --json output. */
function modelRates(command: string, args: string[]): Map<string, number> {
  const run = spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${run.status}:\n${run.stderr}`);
  const rates = new Map<string, number>();
  for (const line of run.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as Partial<ModelRate>;
    if (typeof parsed.model === 'string' && typeof parsed.images_per_s === 'number')
      rates.set(parsed.model, parsed.images_per_s);
  }
  return rates;
}

function rateOf(rates: Map<string, number>, model: string, source: string): number {
  const rate = rates.get(model);
  if (rate === undefined) throw new Error(`${source} printed no result for model '${model}'`);
  return rate;
}

interface Round {
  round: number;
  model: string;
  randlab: number;
  pytorch: number;
  ratio: number;
}

function main(): void {
  const options = new Command()
    .option('--models <names>', 'comma-separated models', 'mlp')
    .option('--rounds <n>', 'alternating rounds', '6')
    .option('--steps <n>', 'timed steps per model and run', '40')
    .option('--json', 'one JSON object per line')
    .parse()
    .opts<{ models: string; rounds: string; steps: string; json?: boolean }>();
  const models = options.models.split(',');
  const rounds = Number(options.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a positive integer, got '${options.rounds}'`);
  const common = ['--json', '--models', options.models, '--steps', options.steps, '--no-kernels'];
  const results: Round[] = [];
  for (let round = 1; round <= rounds; round++) {
    const ours = modelRates(process.execPath, [join(repoRoot, 'bin', 'randlab.js'), 'bench', ...common, '--no-loader']);
    const theirs = modelRates('/usr/bin/python3', [join(repoRoot, 'bench', 'pytorch.py'), ...common]);
    for (const model of models) {
      const randlab = rateOf(ours, model, 'randlab bench');
      const pytorch = rateOf(theirs, model, 'bench/pytorch.py');
      const result = { round, model, randlab, pytorch, ratio: randlab / pytorch };
      results.push(result);
      if (options.json) console.log(JSON.stringify(result));
      else
        console.log(
          `round ${round}  ${model.padEnd(9)} randlab ${randlab.toFixed(1).padStart(8)}  pytorch ${pytorch.toFixed(1).padStart(8)} img/s  ${result.ratio.toFixed(2)}×`,
        );
    }
  }
  for (const model of models) {
    const ratios = results.filter((r) => r.model === model).map((r) => r.ratio);
    const summary = {
      model,
      rounds: ratios.length,
      median_ratio: median(ratios),
      min_ratio: Math.min(...ratios),
      max_ratio: Math.max(...ratios),
    };
    if (options.json) console.log(JSON.stringify(summary));
    else
      console.log(
        `${model}: median ${summary.median_ratio.toFixed(2)}× over ${ratios.length} rounds (min ${summary.min_ratio.toFixed(2)}×, max ${summary.max_ratio.toFixed(2)}×)`,
      );
  }
}

main();

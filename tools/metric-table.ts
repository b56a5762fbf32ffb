/**
 * The runs of an experiment folder as a Markdown table of one metric at chosen steps, read from its run
 * store: what docs/experiments.md shows of a paper-scale run while it is still going (the report needs
 * every seed of a condition for a verdict, the table shows each run as far as it got).
 *
 *   npx tsx tools/metric-table.ts experiments-out/fig5-controls-paper [--metric train/accuracy]
 *     [--steps 500,1000,1500,2000] [--only upstream-s]
 *
 * One row a run: its status, its last step, the metric at each step asked for (— where it was not
 * logged), and the mean over every step it was logged at (the recipes' AUC of a training curve is that
 * mean). Pre-training runs (condition `upstream`) follow as one line each with their last value: how
 * far they fit their labels; `--only upstream-s` tabulates them instead (`--only` keeps the runs whose
 * id starts with it, all as rows). Opens the index read-only, so it may run beside the experiment.
 */
import { join } from 'node:path';
import { RunStore } from '../src/runs/store.js';

interface Options {
  readonly dir: string;
  readonly metric: string;
  readonly steps: readonly number[];
  /** Only the runs whose id starts with this, all as rows (pre-trainings too). */
  readonly only?: string;
}

function parseArgs(argv: readonly string[]): Options {
  const usage = 'usage: metric-table.ts EXPERIMENT_DIR [--metric NAME] [--steps S1,S2,…] [--only RUN_ID_PREFIX]';
  let dir: string | undefined;
  let metric = 'train/accuracy';
  let steps = [500, 1000, 1500, 2000];
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--metric') metric = argv[++i] ?? '';
    else if (arg === '--steps') steps = (argv[++i] ?? '').split(',').map(Number);
    else if (arg === '--only') only = argv[++i] ?? '';
    else if (!arg.startsWith('--') && dir === undefined) dir = arg;
    else throw new Error(`${usage}\nunexpected argument ${arg}`);
  }
  if (dir === undefined || metric === '') throw new Error(usage);
  if (steps.some((s) => !Number.isInteger(s) || s < 0))
    throw new Error(`--steps: expected non-negative integers separated by commas, got ${steps.join(',')}`);
  return { dir, metric, steps, ...(only !== undefined ? { only } : {}) };
}

const format = (value: number | null | undefined): string =>
  value === undefined || value === null ? '—' : value.toFixed(3);

function table(store: RunStore, options: Options): string[] {
  const runs = store
    .listRuns()
    .filter((run) => options.only === undefined || run.id.startsWith(options.only))
    .sort((a, b) => a.id.localeCompare(b.id));
  const isUpstream = (id: string) => options.only === undefined && id.startsWith('upstream-s');
  const lines = [
    `| run | status | last step | ${options.steps.map((s) => `step ${s}`).join(' | ')} | mean of the logged values |`,
    `|---|---|---|${options.steps.map(() => '---|').join('')}---|`,
  ];
  for (const run of runs.filter((r) => !isUpstream(r.id))) {
    const rows = store.metrics(run.id, { name: options.metric });
    if (rows.length === 0) continue; // a compute run, or a run that logged nothing yet
    const at = (step: number) => format(rows.find((row) => row.step === step)?.value);
    const values = rows.map((row) => row.value).filter((v): v is number => v !== null);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    lines.push(
      `| ${run.id} | ${run.status} | ${run.step} | ${options.steps.map(at).join(' | ')} | ${format(mean)} (${values.length}) |`,
    );
  }
  for (const run of runs.filter((r) => isUpstream(r.id))) {
    const last = store.metrics(run.id, { name: options.metric }).at(-1);
    lines.push(`${run.id}: ${run.status}, ${options.metric} ${format(last?.value)} at step ${last?.step ?? '—'}`);
  }
  return lines;
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const store = RunStore.openReadOnly(join(options.dir, 'store'));
  try {
    console.log(table(store, options).join('\n'));
  } finally {
    store.close();
  }
}

try {
  main();
} catch (error) {
  console.error(`metric-table: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}

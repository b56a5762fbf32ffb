/**
 * `randlab runs list | show <run> | export [runs…] --csv | reindex`: the run store's index, and rebuilding
 * it from the run folders (each run records itself in its folder: src/runs/folder-record.ts).
 */
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { writingFile } from '../../io/write-error.js';
import { resolveStoreRoot, RUN_STATUSES, RunStore, type RunRecord, type RunStatus } from '../../runs/store.js';

interface StoreOptions {
  store?: string;
}

export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('the run store: list runs, show one, export metrics');

  runs
    .command('list')
    .description('one line per run: id, status, step, model, dataset, created')
    .option('--store <dir>', 'run store (default $RANDLAB_RUNS, else ./runs)')
    .addOption(new Option('--status <status>', 'only runs with this status').choices([...RUN_STATUSES]))
    .option('--json', 'one JSON object per run')
    .action((options: StoreOptions & { status?: RunStatus; json?: boolean }) => {
      withStore(options, (store) => {
        const list = store.listRuns(options.status ? { status: options.status } : {});
        if (options.json) {
          for (const run of list) process.stdout.write(`${JSON.stringify(run)}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write(`no runs in ${store.root}\n`);
          return;
        }
        process.stdout.write(
          table(
            ['run', 'status', 'step', 'model', 'dataset', 'created'],
            list.map((r) => [r.id, r.status, String(r.step), r.model, r.dataset, r.createdAt]),
          ),
        );
      });
    });

  runs
    .command('show')
    .description('a run: status, config, latest metrics, artifacts')
    .argument('<run>', 'run id')
    .option('--store <dir>', 'run store (default $RANDLAB_RUNS, else ./runs)')
    .option('--json', 'as one JSON object')
    .action((id: string, options: StoreOptions & { json?: boolean }) => {
      withStore(options, (store) => {
        const run = store.requireRun(id);
        const details = {
          ...run,
          config: store.readConfig(id),
          metrics: store.latestMetrics(id),
          artifacts: store.artifacts(id),
        };
        if (options.json) {
          process.stdout.write(`${JSON.stringify(details, null, 2)}\n`);
          return;
        }
        process.stdout.write(describeRun(run));
        process.stdout.write(
          `metrics (last value):\n${
            Object.entries(details.metrics)
              .map(([name, value]) => `  ${name} ${value ?? 'NaN'}`)
              .join('\n') || '  none'
          }\n`,
        );
        process.stdout.write(
          `artifacts:\n${details.artifacts.map((a) => `  ${a.kind} step ${a.step}: ${a.path}`).join('\n') || '  none'}\n`,
        );
        process.stdout.write(`config:\n${JSON.stringify(details.config, null, 2).replace(/^/gm, '  ')}\n`);
      });
    });

  runs
    .command('export')
    .description('metrics of runs (default all) as CSV rows run,step,name,value')
    .argument('[runs...]', 'run ids (default every run)')
    .option('--store <dir>', 'run store (default $RANDLAB_RUNS, else ./runs)')
    .option('--csv', 'CSV output (the only format)')
    .option('--metric <names...>', 'only these metrics')
    .option('--out <file>', 'write to a file instead of stdout')
    .action((ids: string[], options: StoreOptions & { csv?: boolean; metric?: string[]; out?: string }) => {
      if (!options.csv) throw new Error('runs export: give --csv (the export format)');
      withStore(options, (store) => {
        const selected = ids.length > 0 ? ids.map((id) => store.requireRun(id).id) : store.listRuns().map((r) => r.id);
        const lines = ['run,step,name,value'];
        for (const id of selected) {
          for (const row of store.metrics(id)) {
            if (options.metric && !options.metric.includes(row.name)) continue;
            lines.push(
              [csvField(id), row.step, csvField(row.name), row.value === null ? 'NaN' : String(row.value)].join(','),
            );
          }
        }
        const text = `${lines.join('\n')}\n`;
        const out = options.out;
        // Not atomic: --out may name a device or a pipe (/dev/stdout), which a rename would replace.
        if (out) writingFile('metrics export', out, () => writeFileSync(out, text));
        else process.stdout.write(text);
      });
    });

  runs
    .command('reindex')
    .description("rebuild the store's index from its run folders (run.json, metrics.jsonl in each)")
    .option('--store <dir>', 'run store (default $RANDLAB_RUNS, else ./runs)')
    .action((options: StoreOptions) => {
      withStore(options, (store) => {
        const { imported, dropped } = store.reindex();
        process.stdout.write(`${store.root}: ${imported} run(s) indexed from their folders, ${dropped} dropped\n`);
      });
    });
}

function withStore(options: StoreOptions, fn: (store: RunStore) => void): void {
  const store = RunStore.open(resolveStoreRoot(options.store));
  try {
    fn(store);
  } finally {
    store.close();
  }
}

function describeRun(run: RunRecord): string {
  return [
    `run ${run.id}: ${run.status} at step ${run.step}${run.message ? ` (${run.message})` : ''}`,
    `model ${run.model}, data ${run.dataset}`,
    `created ${run.createdAt}, updated ${run.updatedAt}`,
    `folder ${run.dir}`,
    '',
  ].join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** RFC 4180 quoting where needed. */
function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * `randlab data fetch <dataset>` and `randlab data check <dataset> [--json]`.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { checkDataset, fetchDataset, FETCH_SOURCES, formatCheckReport } from '../../data/index.js';

interface FetchCommandOptions {
  dataDir?: string;
  force?: boolean;
  url?: string;
}

interface CheckCommandOptions {
  dataDir?: string;
  cacheDir?: string;
  split?: string[];
  json?: boolean;
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('datasets: download and check');

  data
    .command('fetch')
    .description('download an official dataset archive, verify its MD5 and extract it into <data root>/<dataset>/')
    .argument('<dataset>', 'cifar10 or cifar100')
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--force', 'download again even if the files are present')
    .option('--url <url>', 'a mirror of the official archive (it must have the official MD5); file: URLs work offline')
    .action(async (name: string, _options: FetchCommandOptions, command: Command) => {
      const options = command.optsWithGlobals<FetchCommandOptions>();
      const official = FETCH_SOURCES[name as keyof typeof FETCH_SOURCES];
      const result = await fetchDataset(name, {
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(options.force ? { force: true } : {}),
        ...(options.url && official ? { source: { url: options.url, md5: official.md5 } } : {}),
      });
      process.stdout.write(
        result.fetched
          ? `${name}: installed ${result.files.length} files in ${result.dir}\n`
          : `${name}: already present in ${result.dir} (use --force to fetch again)\n`,
      );
    });

  data
    .command('check')
    .description(
      'load every split and report counts per split and class, image size, label range, per-channel mean/std; fails on any inconsistency',
    )
    .argument(
      '<dataset>',
      'dataset spec: cifar10, cifar100, imagefolder:<path>,size=<px>, gaussian:diag(...) (see docs/data.md)',
    )
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--cache-dir <dir>', 'cache for decoded images (default $RANDLAB_CACHE, else .cache/randlab)')
    .option('--split <names...>', 'check only these splits')
    .option('--json', 'print the report as JSON')
    .action(async (spec: string, _options: CheckCommandOptions, command: Command) => {
      const options = command.optsWithGlobals<CheckCommandOptions>();
      const progress = decodeProgress();
      let report;
      try {
        report = await checkDataset(spec, {
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
          ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
          ...(options.split ? { splits: options.split } : {}),
          ...(progress ? { onProgress: progress.update } : {}),
        });
      } finally {
        progress?.stop();
      }
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCheckReport(report)}\n`);
      if (!report.ok)
        throw new Error(
          `data check: ${report.issues.length} inconsistencies in ${report.dataset}: ${report.issues[0]}${report.issues.length > 1 ? ' …' : ''}`,
        );
    });
}

/** A bar for image decoding when stderr is a terminal. */
function decodeProgress(): { update: (done: number, total: number) => void; stop: () => void } | null {
  if (!process.stderr.isTTY) return null;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'decoding [{bar}] {value}/{total} images', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
      if (done === total) {
        bar.stop();
        started = false;
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

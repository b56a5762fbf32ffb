/**
 * `randlab train --config run.yaml [--<field> value …]` and `randlab train --resume <run>`.
 *
 * Every config field is also a flag named by its dotted path (`--schedule.lr 0.05`,
 * `--data.labels.kind random`); flags override the file. The resolved config is saved in the run.
 */
import { Option, type Command } from 'commander';
import { listModels } from '../../models/index.js';
import {
  applyOverrides,
  CONFIG_FIELDS,
  parseFieldValue,
  readConfigFile,
  resolveConfig,
  type ConfigField,
} from '../../runs/config.js';
import { createProgressReporter, progressMode } from '../../runs/progress.js';
import { resolveStoreRoot, RunStore } from '../../runs/store.js';
import { resumeRun, trainRun, type RunResult } from '../../runs/trainer.js';
import { endBySignal, stopOnSignal } from '../stop-on-signal.js';
import type { Device } from '../../tensor/index.js';

interface TrainCommandOptions {
  config?: string;
  resume?: string;
  force?: boolean;
  store?: string;
  dataDir?: string;
  cacheDir?: string;
  threads?: string;
  quiet?: boolean;
  json?: boolean;
  printConfig?: boolean;
  listModels?: boolean;
}

export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description(
      'train a model from a run config (JSON or YAML); every config field can be set by a flag --<field.path> (see docs/runs.md)',
    )
    .option('--config <file>', 'run config, JSON or YAML (fields not given take their defaults)')
    .option('--resume <run>', 'continue a run of the store from its last checkpoint (its saved config; no field flags)')
    .option('--force', 'overwrite an existing run of the same name, also a finished one')
    .option('--store <dir>', 'run store (default $RANDLAB_RUNS, else ./runs)')
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--cache-dir <dir>', 'cache for decoded images (default $RANDLAB_CACHE, else .cache/randlab)')
    .option('--threads <n>', 'kernel threads (sets RANDLAB_THREADS; results are bit-identical for the same count)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the result as JSON on stdout')
    .option('--print-config', 'print the resolved config and exit without training')
    .option('--list-models', 'list the models and what their options mean, then exit');
  for (const field of CONFIG_FIELDS) command.addOption(fieldOption(field));
  command.action(async (options: TrainCommandOptions, cmd: Command) => {
    if (options.listModels) {
      for (const model of listModels())
        process.stdout.write(
          `${model.name}\n  ${model.description}\n  widths: ${model.widths}\n${model.options.length ? `  options: ${model.options.join(', ')}\n` : ''}`,
        );
      return;
    }
    const overrides = fieldOverrides(cmd);
    // --device is where to compute, not what to compute: a run may resume on another device.
    const resumeDevice = overrides.find(([path]) => path === 'device')?.[1] as Device | undefined;
    const fieldFlags = options.resume !== undefined ? overrides.filter(([path]) => path !== 'device') : overrides;
    if (options.resume !== undefined && (fieldFlags.length > 0 || options.config !== undefined)) {
      throw new Error(
        `--resume continues run '${options.resume}' with its saved config; it takes no --config or field flags but --device (given: ${[...(options.config ? ['--config'] : []), ...fieldFlags.map(([path]) => `--${path}`)].join(', ')})`,
      );
    }
    if (options.threads !== undefined) setThreads(options.threads);
    if (options.printConfig) {
      process.stdout.write(`${JSON.stringify(loadConfig(options.config, overrides), null, 2)}\n`);
      return;
    }
    const store = RunStore.open(resolveStoreRoot(options.store));
    const reporter = createProgressReporter(progressMode({ quiet: options.quiet ?? false }));
    // The first SIGINT/SIGTERM stops the run after its step, with a checkpoint; a second one ends the process.
    const stop = stopOnSignal();
    let result: RunResult;
    try {
      const common = {
        store,
        onProgress: reporter.onProgress,
        signal: stop.signal,
        ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
        ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      };
      result =
        options.resume !== undefined
          ? await resumeRun(options.resume, { ...common, ...(resumeDevice ? { device: resumeDevice } : {}) })
          : await trainRun(loadConfig(options.config, overrides), { ...common, force: options.force ?? false });
      printResult(result, options.json ?? false);
    } finally {
      reporter.stop();
      stop.dispose();
      store.close();
    }
    if (result.status === 'stopped' && stop.received !== null) endBySignal(stop.received);
  });
}

function fieldOption(field: ConfigField): Option {
  const value =
    field.type === 'boolean'
      ? '<true|false>'
      : field.type === 'object'
        ? '<yaml>'
        : field.type.endsWith('[]')
          ? '<a,b,…>'
          : '<value>';
  const option = new Option(
    `--${field.path} ${value}`,
    `config field ${field.path}${field.nullable ? ' (null for none)' : ''}`,
  );
  return field.choices ? option.choices([...field.choices]) : option;
}

/** The field flags given on the command line, parsed to their types. */
function fieldOverrides(cmd: Command): Array<[string, unknown]> {
  const values = cmd.opts<Record<string, string | undefined>>();
  return CONFIG_FIELDS.filter((field) => cmd.getOptionValueSource(field.path) === 'cli').map((field) => [
    field.path,
    parseFieldValue(field, values[field.path]!),
  ]);
}

function loadConfig(
  file: string | undefined,
  overrides: ReadonlyArray<readonly [string, unknown]>,
): ReturnType<typeof resolveConfig> {
  const base = file !== undefined ? readConfigFile(file) : {};
  const source =
    [file, overrides.length > 0 ? 'command-line flags' : undefined].filter(Boolean).join(' + ') || 'defaults';
  return resolveConfig(applyOverrides(base, overrides), `(${source})`);
}

function setThreads(text: string): void {
  const threads = Number(text);
  if (!Number.isSafeInteger(threads) || threads < 1)
    throw new Error(`--threads must be a positive integer, got '${text}'`);
  process.env.RANDLAB_THREADS = String(threads);
}

function printResult(result: RunResult, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ run: result.runId, status: result.status, step: result.step, dir: result.dir, metrics: result.metrics })}\n`,
    );
    return;
  }
  const metrics = Object.entries(result.metrics)
    .filter(([name]) => /^(train|test|test_as_train)\//.test(name))
    .map(([name, value]) => `${name} ${value === null ? 'NaN' : value.toFixed(4)}`)
    .join(', ');
  process.stdout.write(
    `run ${result.runId} ${result.status} at step ${result.step} (${result.dir})${metrics ? `: ${metrics}` : ''}\n`,
  );
}

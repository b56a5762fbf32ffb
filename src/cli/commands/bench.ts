/**
 * `randlab bench [--models a,b] [--json] [--memory-check]` (also `npm run bench`): training-step
 * speed of mlp, cnn2, vgg16 (BN) and resnet18 (CIFAR) at batch 128 on random 3×32×32 inputs, the
 * headline kernels (bench/kernels.ts), the loader's throughput, and resident memory over 200 steps.
 * Compare with PyTorch on the same machine: /usr/bin/python3 bench/pytorch.py.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { benchLoader } from '../../data/index.js';
import { BENCH_MODELS, benchTrainingStep, benchTrainingStepOnWebGpu, checkStepMemory } from '../../runs/bench.js';
import { acquireDevice } from '../../runs/device.js';
import { DEVICES, type Device } from '../../tensor/index.js';

interface BenchCommandOptions {
  models: string;
  steps: string;
  batch: string;
  json?: boolean;
  memoryCheck?: boolean;
  kernels: boolean;
  loader: boolean;
  threads?: string;
  device: Device;
}

type Row = Record<string, string | number | boolean>;

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'time training steps (forward + backward + SGD momentum) of the benchmark models, the headline kernels and the data loader',
    )
    .option(
      '--models <names>',
      `comma-separated models (${Object.keys(BENCH_MODELS).join(', ')})`,
      Object.keys(BENCH_MODELS).join(','),
    )
    .option('--steps <n>', 'timed steps per model (the median is reported, after 2 warm-up steps)', '10')
    .option('--batch <n>', 'batch size', '128')
    .option('--json', 'one JSON object per line')
    .option(
      '--memory-check',
      'also train mlp for 200 steps and compare resident memory after 20 and 200 steps (must be within 5%)',
    )
    .option('--no-kernels', 'skip the kernel benchmarks')
    .option('--no-loader', 'skip the loader benchmark')
    .option('--threads <n>', 'kernel threads (sets RANDLAB_THREADS)')
    .addOption(
      new Option('--device <device>', 'time the training steps on the cpu or the WebGPU adapter (docs/webgpu.md)')
        .choices([...DEVICES])
        .default('cpu'),
    )
    .action(async (options: BenchCommandOptions) => {
      if (options.threads !== undefined)
        process.env.RANDLAB_THREADS = String(positiveInteger('--threads', options.threads));
      const emit = (row: Row): void => {
        process.stdout.write(options.json ? `${JSON.stringify(row)}\n` : `${formatRow(row)}\n`);
      };
      const steps = positiveInteger('--steps', options.steps);
      const batch = positiveInteger('--batch', options.batch);
      if (options.device === 'webgpu') await acquireDevice('webgpu');
      for (const name of options.models.split(',').map((m) => m.trim())) {
        const result =
          options.device === 'cpu'
            ? benchTrainingStep(name, { batch, steps })
            : await benchTrainingStepOnWebGpu(name, { batch, steps });
        emit({
          model: result.model,
          batch: result.batch,
          images_per_s: round(result.images_per_s, 1),
          ms_per_step: round(result.ms_per_step, 2),
          backend: result.backend,
        });
      }
      if (options.kernels) for (const row of await kernelRows()) emit(row);
      if (options.loader) {
        const loader = await benchLoader({ batchSize: 256 });
        emit({ loader: 'cifar-b256', images_per_s: round(loader.imagesPerSecond, 0), assembler: loader.assembler });
      }
      if (options.memoryCheck) {
        const memory = checkStepMemory('mlp', { batch });
        emit({
          memory_check: memory.model,
          batch: memory.batch,
          rss_mb_step20: round(memory.rss_mb_early, 1),
          rss_mb_step200: round(memory.rss_mb_late, 1),
          growth: round(memory.growth, 4),
          ok: memory.ok,
        });
        if (!memory.ok)
          throw new Error(
            `memory check: resident memory grew ${(memory.growth * 100).toFixed(1)}% between step 20 and step 200 (limit 5%)`,
          );
      }
    });
}

/**
 * The native kernel benchmarks of bench/kernels.ts. They live outside src (they load the addon
 * directly), so they are imported through tsx, also when randlab runs from dist.
 */
async function kernelRows(): Promise<Row[]> {
  const file = fileURLToPath(new URL('../../../bench/kernels.ts', import.meta.url));
  if (!existsSync(file)) return [{ kernel: 'unavailable', reason: `${file} is missing` }];
  try {
    const { tsImport } = await import('tsx/esm/api');
    const module = (await tsImport(file, import.meta.url)) as {
      benchKernels: () => Promise<Array<{ kernel: string; gflops: number }>>;
    };
    return (await module.benchKernels()).map((k) => ({ kernel: k.kernel, gflops: round(k.gflops, 1) }));
  } catch (error) {
    return [{ kernel: 'unavailable', reason: (error as Error).message.split('\n')[0]! }];
  }
}

function formatRow(row: Row): string {
  if ('model' in row)
    return `${String(row.model).padEnd(10)} batch ${row.batch}  ${String(row.images_per_s).padStart(9)} img/s  ${String(row.ms_per_step).padStart(9)} ms/step  (${row.backend} kernels)`;
  if ('kernel' in row)
    return 'gflops' in row
      ? `${String(row.kernel).padEnd(28)} ${String(row.gflops).padStart(8)} GFLOP/s`
      : `kernels: unavailable (${row.reason})`;
  if ('loader' in row) return `loader ${row.loader}  ${row.images_per_s} img/s (${row.assembler})`;
  return `memory ${row.memory_check} batch ${row.batch}: ${row.rss_mb_step20} MiB after 20 steps, ${row.rss_mb_step200} MiB after 200 (${(Number(row.growth) * 100).toFixed(1)}%) ${row.ok ? 'ok' : 'FAILED'}`;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

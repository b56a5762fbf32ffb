/**
 * The tables of bench/gpu.sh's results, in Markdown for bench/RESULTS.md, computed from the
 * stages' JSON lines in the folder given (nothing typed in):
 *
 *   npx tsx bench/gpu-summary.ts OUT_FOLDER   (on the GPU machine: node .gpu/bench/gpu-summary.mjs, bundled
 *                                              by bench/gpu-pack.sh)
 *
 * A stage that failed or was skipped shows as "—" with the reason below the tables.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MODELS = ['mlp', 'cnn2', 'vgg16', 'resnet18'];
const STAGES = [
  'webgpu-train',
  'webgpu-gemm',
  'pytorch-cuda-fp32',
  'pytorch-cuda-default',
  'randlab-cpu',
  'randlab-cpu-2',
  'pytorch-cpu',
] as const;
type StageName = (typeof STAGES)[number];

/** One JSON line of a stage: a model's training rate, a kernel's GFLOP/s, or the stage's failure. */
interface Row {
  model?: string;
  batch?: number;
  images_per_s?: number;
  kernel?: string;
  backend?: string;
  gemm?: string;
  gflops?: number;
  layout?: string;
  failed?: string;
}

interface Stage {
  rows: Row[];
  problem: string | null;
}

interface Devices {
  webgpu?: { ok: boolean; adapter?: { vendor: string; architecture: string; description: string } };
}

/** The JSON objects of one stage's output, and why it has none when it failed. */
function readStage(folder: string, name: string): Stage {
  const file = join(folder, `${name}.jsonl`);
  if (!existsSync(file)) return { rows: [], problem: `${name}: not run` };
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Row);
  const failed = rows.find((row) => row.failed !== undefined);
  return { rows: rows.filter((row) => row.failed === undefined), problem: failed ? `${name}: ${failed.failed}` : null };
}

function imagesPerSecond(stage: Stage, model: string): number | undefined {
  return stage.rows.find((row) => row.model === model)?.images_per_s;
}

function gflops(stage: Stage, match: (row: Row) => boolean): number | undefined {
  return stage.rows.find(match)?.gflops;
}

/** Three significant digits or more: 0.42, 6.1, 4210. */
function format(value: number | undefined): string {
  if (value === undefined) return '—';
  return value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2);
}
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`;

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The Markdown tables of the stage results in `folder`. */
export function gpuSummary(folder: string): string {
  const stages = Object.fromEntries(STAGES.map((name) => [name, readStage(folder, name)])) as Record<StageName, Stage>;
  const devices = existsSync(join(folder, 'devices.json'))
    ? (JSON.parse(readFileSync(join(folder, 'devices.json'), 'utf8')) as Devices)
    : null;
  const adapter = devices?.webgpu?.ok ? devices.webgpu.adapter : null;
  const lines = [];
  lines.push(
    `WebGPU adapter: ${adapter ? `${adapter.vendor} ${adapter.architecture} (${adapter.description})` : 'none'}`,
  );
  const cudaLayout = stages['pytorch-cuda-fp32'].rows[0]?.layout ?? 'PyTorch CUDA: not measured';
  lines.push(`PyTorch: ${cudaLayout}`, '');
  lines.push(
    `Training images/s, batch ${stages['webgpu-train'].rows[0]?.batch ?? 128} on webgpu, 128 elsewhere (median step):`,
    '',
  );
  lines.push(
    ...table(
      [
        'model',
        'randlab webgpu',
        'PyTorch CUDA fp32',
        'PyTorch CUDA default',
        'webgpu / fp32',
        'webgpu / default',
        'randlab cpu 2 threads',
        'webgpu / cpu 2 threads',
      ],
      MODELS.map((model) => {
        const webgpu = imagesPerSecond(stages['webgpu-train'], model);
        const fp32 = imagesPerSecond(stages['pytorch-cuda-fp32'], model);
        const defaults = imagesPerSecond(stages['pytorch-cuda-default'], model);
        const cpu2 = imagesPerSecond(stages['randlab-cpu-2'], model);
        return [
          model,
          format(webgpu),
          format(fp32),
          format(defaults),
          ratio(webgpu, fp32),
          ratio(webgpu, defaults),
          format(cpu2),
          ratio(webgpu, cpu2),
        ];
      }),
    ),
  );
  const webgpuGemm = gflops(stages['webgpu-gemm'], (row) => String(row.backend).startsWith('webgpu'));
  const gemmSize = stages['webgpu-gemm'].rows[0]?.gemm ?? '';
  const isGemm = (row: Row): boolean => String(row.kernel ?? '').startsWith('gemm-');
  const cublasFp32 = gflops(stages['pytorch-cuda-fp32'], isGemm);
  const cublasDefault = gflops(stages['pytorch-cuda-default'], isGemm);
  lines.push('', `GEMM ${gemmSize} GFLOP/s:`, '');
  lines.push(
    ...table(
      ['randlab webgpu', 'cuBLAS fp32 (TF32 off)', 'cuBLAS default', 'webgpu / fp32'],
      [[format(webgpuGemm), format(cublasFp32), format(cublasDefault), ratio(webgpuGemm, cublasFp32)]],
    ),
  );
  const threads = stages['pytorch-cpu'].rows[0]?.layout ?? 'not measured';
  lines.push('', `CPU, all cores, training images/s, batch 128 (PyTorch best layout: ${threads}):`, '');
  lines.push(
    ...table(
      ['model', 'randlab cpu', 'PyTorch cpu', 'randlab / PyTorch'],
      MODELS.map((model) => {
        const ours = imagesPerSecond(stages['randlab-cpu'], model);
        const theirs = imagesPerSecond(stages['pytorch-cpu'], model);
        return [model, format(ours), format(theirs), ratio(ours, theirs)];
      }),
    ),
  );
  const problems = Object.values(stages)
    .map((stage) => stage.problem)
    .filter((problem): problem is string => problem !== null);
  if (problems.length > 0) lines.push('', `Missing or failed stages: ${problems.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const folder = process.argv[2];
  if (!folder) throw new Error('usage: npx tsx bench/gpu-summary.ts OUT_FOLDER');
  process.stdout.write(gpuSummary(folder));
}

/**
 * bench/gpu-summary.ts: the GPU benchmark's tables are computed from the stages' JSON lines, so a
 * ratio in bench/RESULTS.md is the quotient of two measured rates, and a failed stage shows as such.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gpuSummary } from '../bench/gpu-summary.js';

const folders: string[] = [];

function stageFolder(stages: Record<string, object[]>): string {
  const folder = mkdtempSync(join(tmpdir(), 'gpu-summary-'));
  folders.push(folder);
  for (const [name, rows] of Object.entries(stages))
    writeFileSync(join(folder, `${name}.jsonl`), rows.map((row) => JSON.stringify(row)).join('\n'));
  return folder;
}

/** The cells of the Markdown row that starts with `first`. */
function rowOf(markdown: string, first: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| ${first} |`));
  if (!line) throw new Error(`no row '${first}' in:\n${markdown}`);
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('bench/gpu-summary.ts', () => {
  it('divides the measured rates and marks what is missing', () => {
    const folder = stageFolder({
      'webgpu-train': [{ model: 'vgg16', batch: 128, images_per_s: 3000 }],
      'pytorch-cuda-fp32': [
        { model: 'vgg16', batch: 128, images_per_s: 4000, layout: 'cuda H100, tf32 off' },
        { kernel: 'gemm-4096', gflops: 50000 },
      ],
      'pytorch-cuda-default': [{ model: 'vgg16', batch: 128, images_per_s: 6000 }],
      'webgpu-gemm': [{ backend: 'webgpu nvidia hopper', gemm: '4096³', gflops: 20000 }],
      'randlab-cpu-2': [{ model: 'vgg16', batch: 128, images_per_s: 150 }],
      'randlab-cpu': [{ model: 'mlp', batch: 128, images_per_s: 9000 }],
      'pytorch-cpu': [
        { model: 'mlp', batch: 128, images_per_s: 6000, layout: 'OMP_NUM_THREADS=16,OPENBLAS_NUM_THREADS=16' },
        { stage: 'pytorch-cpu', failed: 'exit 124' },
      ],
    });
    const summary = gpuSummary(folder);
    expect(rowOf(summary, 'vgg16')).toEqual(['vgg16', '3000', '4000', '6000', '0.75×', '0.50×', '150', '20.00×']);
    expect(rowOf(summary, 'resnet18').slice(1)).toEqual(Array(7).fill('—'));
    expect(rowOf(summary, '20000')).toEqual(['20000', '50000', '—', '0.40×']);
    const cpuTable = summary.slice(summary.indexOf('CPU, all cores'));
    expect(rowOf(cpuTable, 'mlp').slice(-3)).toEqual(['9000', '6000', '1.50×']);
    expect(summary).toContain('pytorch-cpu: exit 124');
    expect(summary).toContain('PyTorch: cuda H100, tf32 off');
  });
});

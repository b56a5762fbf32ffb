/**
 * `randlab devices [--json]`: what randlab can compute on here. The CPU backend (the native addon
 * with its SIMD level, GEMM kernel and threads, or the TypeScript reference and why), and the
 * WebGPU adapter with its vendor, architecture and limits, or plainly why there is none. Listing
 * nothing usable is an answer, not a failure: the command exits 0 either way.
 */
import type { Command } from 'commander';
import { loadNativeKernels } from '../../kernels/native.js';
import { probeWebGpu, type WebGpuProbe } from '../../kernels/webgpu/index.js';

type CpuBackend =
  | { readonly backend: 'native'; readonly simd: string; readonly gemmKernel: string; readonly threads: number }
  | { readonly backend: 'ts'; readonly reason: string };

interface NativeInfo {
  simdLevel(): string;
  gemmKernelName(): string;
  threadCount(): number;
}

/** The backend the engine would use (src/kernels/index.ts: RANDLAB_KERNELS, else the addon when it loads). */
function describeCpu(): CpuBackend {
  if (process.env.RANDLAB_KERNELS === 'ts') return { backend: 'ts', reason: 'RANDLAB_KERNELS=ts' };
  const { addon, reason } = loadNativeKernels();
  if (!addon) return { backend: 'ts', reason };
  const info = addon as unknown as NativeInfo;
  return { backend: 'native', simd: info.simdLevel(), gemmKernel: info.gemmKernelName(), threads: info.threadCount() };
}

function cpuLine(cpu: CpuBackend): string {
  if (cpu.backend === 'native')
    return `cpu     native kernels: simd ${cpu.simd}, gemm ${cpu.gemmKernel}, ${cpu.threads} threads`;
  return `cpu     TypeScript reference kernels (much slower): ${cpu.reason}`;
}

function webgpuLines(webgpu: WebGpuProbe): string[] {
  if (!webgpu.ok) return [`webgpu  ${webgpu.reason}`];
  const { adapter } = webgpu;
  const kind = adapter.isFallbackAdapter ? 'software adapter, slower than the native CPU kernels' : 'hardware adapter';
  const name = [adapter.vendor, adapter.architecture, adapter.device].filter((part) => part !== '').join(' ');
  const limits = Object.entries(adapter.limits).map(([limit, value]) => `${limit} ${value}`);
  return [
    `webgpu  ${name}: ${adapter.description} (${kind})`,
    `        found through ${adapter.source}`,
    `        limits: ${limits.join(', ')}`,
  ];
}

export function registerDevicesCommand(program: Command): void {
  program
    .command('devices')
    .description('list the CPU kernel backend and the WebGPU adapter (vendor, architecture, limits), or why none')
    .option('--json', 'one JSON object: { cpu, webgpu }')
    .action(async (options: { json?: boolean }) => {
      const cpu = describeCpu();
      const webgpu = await probeWebGpu();
      if (options.json) process.stdout.write(`${JSON.stringify({ cpu, webgpu })}\n`);
      else process.stdout.write(`${[cpuLine(cpu), ...webgpuLines(webgpu)].join('\n')}\n`);
    });
}

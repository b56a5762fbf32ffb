/**
 * GEMM on the WebGPU adapter against randlab's native CPU GEMM, same sizes, same inputs.
 *
 *   npx tsx bench/webgpu-gemm.ts [--size 1024] [--reps 5] [--json]
 *
 * The device time of one GEMM is the wall time from recording the dispatch to the queue reporting
 * it done (`gpu.flush()`), best of --reps after one warm-up run that compiles the pipeline; the
 * inputs stay on the device, nothing is copied per run. The native time is the best of as many
 * runs. Both results are compared (largest difference relative to the largest |C|), so a fast
 * wrong kernel cannot pass as a result.
 */
import type { GemmParams } from '../src/kernels/interface.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import { gemm, releaseWebGpu, WebGpu } from '../src/kernels/webgpu/index.js';
import { randomArray } from './random.js';

interface Options {
  size: number;
  reps: number;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { size: 1024, reps: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') options.json = true;
    else if (arg === '--size' || arg === '--reps') {
      const value = Number(argv[++i]);
      if (!Number.isSafeInteger(value) || value < 1)
        throw new Error(`bench/webgpu-gemm.ts: ${arg} needs a positive integer`);
      options[arg === '--size' ? 'size' : 'reps'] = value;
    } else throw new Error(`bench/webgpu-gemm.ts: unknown argument ${arg} (expected --size N, --reps N, --json)`);
  }
  return options;
}

async function bestMs(reps: number, run: () => Promise<void> | void): Promise<number> {
  await run();
  let best = Infinity;
  for (let rep = 0; rep < reps; rep++) {
    const start = performance.now();
    await run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

async function main(): Promise<void> {
  const { size, reps, json } = parseArgs(process.argv.slice(2));
  const p: GemmParams = { m: size, n: size, k: size, transA: false, transB: false, alpha: 1, beta: 0 };
  const a = randomArray(size * size, 1);
  const b = randomArray(size * size, 2);
  const flops = 2 * size ** 3;
  const rows: Record<string, string | number>[] = [];

  const native = loadNativeKernels();
  const cpuC = new Float32Array(size * size);
  if (native.kernels) {
    const kernels = native.kernels;
    const ms = await bestMs(reps, () => kernels.gemm(a, b, cpuC, p));
    rows.push({
      backend: 'native cpu',
      gemm: `${size}³`,
      ms: Number(ms.toFixed(2)),
      gflops: Number((flops / (ms * 1e6)).toFixed(2)),
    });
  }

  const gpu = await WebGpu.acquire();
  const [deviceA, deviceB, deviceC] = [gpu.upload(a), gpu.upload(b), gpu.createArray(size * size)];
  const ms = await bestMs(reps, async () => {
    gemm(gpu, deviceA, deviceB, deviceC, p);
    await gpu.flush();
  });
  const gpuC = await gpu.download(deviceC);
  const adapter = `${gpu.adapter.vendor} ${gpu.adapter.architecture} (${gpu.adapter.description})`;
  const row: Record<string, string | number> = {
    backend: `webgpu ${adapter}`,
    gemm: `${size}³`,
    ms: Number(ms.toFixed(2)),
    gflops: Number((flops / (ms * 1e6)).toFixed(2)),
  };
  if (native.kernels) {
    let largest = 0;
    let difference = 0;
    for (let i = 0; i < cpuC.length; i++) {
      largest = Math.max(largest, Math.abs(cpuC[i]!));
      difference = Math.max(difference, Math.abs(cpuC[i]! - gpuC[i]!));
    }
    row.max_relative_difference_to_cpu = Number((difference / largest).toExponential(2));
  }
  rows.push(row);
  await releaseWebGpu();
  for (const r of rows)
    process.stdout.write(
      json ? `${JSON.stringify(r)}\n` : `${String(r.backend).padEnd(60)} ${r.gemm}  ${r.ms} ms  ${r.gflops} GFLOP/s\n`,
    );
}

await main();

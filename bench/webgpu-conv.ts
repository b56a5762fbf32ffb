/**
 * The three convolution kernels on the WebGPU adapter, per layer shape of cnn2 or vgg16 (CIFAR-10
 * inputs, 3×3 kernels, padding as the models use), against randlab's native CPU kernels.
 *
 *   npx tsx bench/webgpu-conv.ts [--model cnn2|vgg16] [--batch 8] [--reps 3] [--widths 32,32] [--json]
 *
 * Timed as bench/webgpu-gemm.ts times the GEMM: wall time from recording the dispatches to the
 * queue reporting them done, best of --reps after one warm-up run (which compiles the pipelines),
 * inputs resident on the device. The process's CPU time over the timed runs is reported as well:
 * on SwiftShader the shaders run on the host's cores, and on a loaded machine wall time alone
 * mixes in other people's work. Each result is compared with the native kernel's (largest
 * difference relative to the largest magnitude), so a fast wrong kernel cannot pass.
 */
import type { Conv2dParams } from '../src/kernels/interface.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import {
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dForward,
  releaseWebGpu,
  WebGpu,
} from '../src/kernels/webgpu/index.js';
import { randomArray } from './random.js';

interface Options {
  model: 'cnn2' | 'vgg16';
  batch: number;
  reps: number;
  widths: number[] | null;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { model: 'cnn2', batch: 8, reps: 3, widths: null, json: false };
  const fail = (message: string): never => {
    throw new Error(
      `bench/webgpu-conv.ts: ${message} (expected --model cnn2|vgg16, --batch N, --reps N, --widths A,B, --json)`,
    );
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    if (arg === '--json') options.json = true;
    else if (arg === '--model') {
      if (value !== 'cnn2' && value !== 'vgg16') fail(`--model ${value}`);
      options.model = value as Options['model'];
      i++;
    } else if (arg === '--batch' || arg === '--reps') {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 1) fail(`${arg} needs a positive integer`);
      options[arg === '--batch' ? 'batch' : 'reps'] = n;
      i++;
    } else if (arg === '--widths') {
      const widths = String(value).split(',').map(Number);
      if (widths.some((w) => !Number.isSafeInteger(w) || w < 1)) fail(`--widths ${value}`);
      options.widths = widths;
      i++;
    } else fail(`unknown argument ${arg}`);
  }
  return options;
}

/** A 3×3 convolution of `c` → `outC` channels on size×size images. */
function conv3x3(n: number, c: number, outC: number, size: number, pad: number): Conv2dParams {
  const out = size + 2 * pad - 2;
  return {
    n,
    c,
    h: size,
    w: size,
    outC,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padH: pad,
    padW: pad,
    outH: out,
    outW: out,
  };
}

/** The distinct conv layers of the model on CIFAR-10 (cnn2: valid; vgg16: padding 1, pooling halves the size). */
function layers(options: Options): Conv2dParams[] {
  const n = options.batch;
  if (options.model === 'cnn2') return [conv3x3(n, 3, options.widths?.[0] ?? 256, 32, 0)];
  const shapes: Conv2dParams[] = [];
  const seen = new Set<string>();
  let [c, size] = [3, 32];
  for (const item of [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512] as const) {
    if (item === 'M') {
      size /= 2;
      continue;
    }
    const key = `${c}:${item}:${size}`;
    if (!seen.has(key)) shapes.push(conv3x3(n, c, item, size, 1));
    seen.add(key);
    c = item;
  }
  return shapes;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function best(reps: number, run: () => Promise<void> | void): Promise<Timing> {
  await run();
  let wallMs = Infinity;
  let cpuMs = Infinity;
  for (let rep = 0; rep < reps; rep++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await run();
    wallMs = Math.min(wallMs, performance.now() - start);
    const used = process.cpuUsage(cpu);
    cpuMs = Math.min(cpuMs, (used.user + used.system) / 1000);
  }
  return { wallMs, cpuMs };
}

function relativeDifference(expected: Float32Array, actual: Float32Array): number {
  let largest = 0;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) {
    largest = Math.max(largest, Math.abs(expected[i]!));
    difference = Math.max(difference, Math.abs(expected[i]! - actual[i]!));
  }
  return largest === 0 ? difference : difference / largest;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const native = loadNativeKernels().kernels;
  const gpu = await WebGpu.acquire();
  const rows: Record<string, string | number>[] = [];
  for (const p of layers(options)) {
    const shape = `${p.n}×${p.c}×${p.h}×${p.w} → ${p.outC}, 3×3 pad ${p.padH}`;
    const x = randomArray(p.n * p.c * p.h * p.w, 1);
    const w = randomArray(p.outC * p.c * 9, 2);
    const bias = randomArray(p.outC, 3);
    const dy = randomArray(p.n * p.outC * p.outH * p.outW, 4);
    const [dx, dw, y] = [gpu.createArray(x.length), gpu.createArray(w.length), gpu.createArray(dy.length)];
    const [deviceX, deviceW, deviceBias, deviceDy, deviceDbias] = [
      gpu.upload(x),
      gpu.upload(w),
      gpu.upload(bias),
      gpu.upload(dy),
      gpu.createArray(p.outC),
    ];
    const kernels = [
      {
        name: 'forward (bias)',
        flops: 2 * p.n * p.outC * p.outH * p.outW * p.c * 9,
        gpu: () => conv2dForward(gpu, deviceX, deviceW, deviceBias, y, p),
        out: y,
        cpu: (out: Float32Array) => native?.conv2dForward(x, w, bias, out, p),
        length: dy.length,
      },
      {
        name: 'backward data',
        flops: 2 * p.n * p.outC * p.outH * p.outW * p.c * 9,
        gpu: () => conv2dBackwardData(gpu, deviceDy, deviceW, dx, p),
        out: dx,
        cpu: (out: Float32Array) => native?.conv2dBackwardData(dy, w, out, p),
        length: x.length,
      },
      {
        name: 'backward filter (bias)',
        flops: 2 * p.n * p.outC * p.outH * p.outW * p.c * 9,
        gpu: () => conv2dBackwardFilter(gpu, deviceX, deviceDy, dw, deviceDbias, p),
        out: dw,
        cpu: (out: Float32Array) => native?.conv2dBackwardFilter(x, dy, out, new Float32Array(p.outC), p),
        length: w.length,
      },
    ];
    for (const kernel of kernels) {
      const timing = await best(options.reps, async () => {
        kernel.gpu();
        await gpu.flush();
      });
      const row: Record<string, string | number> = {
        adapter: gpu.adapter.description,
        shape,
        kernel: kernel.name,
        wall_ms: Number(timing.wallMs.toFixed(1)),
        cpu_ms: Number(timing.cpuMs.toFixed(1)),
        gflops: Number((kernel.flops / (timing.wallMs * 1e6)).toFixed(3)),
      };
      if (native) {
        const expected = new Float32Array(kernel.length);
        const cpuTiming = await best(options.reps, () => kernel.cpu(expected));
        row.native_ms = Number(cpuTiming.wallMs.toFixed(2));
        row.max_relative_difference_to_native = Number(
          relativeDifference(expected, await gpu.download(kernel.out)).toExponential(2),
        );
      }
      rows.push(row);
      process.stdout.write(
        options.json
          ? `${JSON.stringify(row)}\n`
          : `${shape.padEnd(30)} ${kernel.name.padEnd(24)} ${row.wall_ms} ms wall, ${row.cpu_ms} ms cpu, ${row.gflops} GFLOP/s; native ${row.native_ms ?? '-'} ms; Δ ${row.max_relative_difference_to_native ?? '-'}\n`,
      );
    }
  }
  await releaseWebGpu();
}

await main();

/**
 * Where a training step's time goes, and whether its memory stays flat.
 *
 *   npx tsx bench/step-profile.ts [--models mlp,cnn2,vgg16,resnet18] [--steps N] [--json]
 *   npx tsx bench/step-profile.ts --memory cnn2,resnet18 [--early 20] [--late 200]
 *
 * Profile (per model, batch 128, 3×32×32, SGD momentum, the step of src/runs/bench.ts):
 * - `step`: wall time of uninstrumented steps (best and median of N after warm-up), images/s.
 * - the same step with every kernel wrapped in a timer, split into phases (forward, backward,
 *   optimiser step): each phase's kernel time by kernel, and the time outside kernels ("other"),
 *   which is the framework's overhead plus the timers' own. The heaviest kernel calls are listed
 *   with their geometry (conv layers, GEMM shapes).
 * - allocation after warm-up: bytes the buffer pool had to allocate during the timed steps (0 when
 *   every buffer is reused) and the growth of ArrayBuffer memory outside it.
 *
 * Memory (`--memory`): each model in a fresh process trains `late` steps with the runner of
 * src/runs/bench.ts; resident memory after `early` and after `late` steps must be within 5%.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getKernels, setKernels, type Kernels } from '../src/kernels/index.js';
import type { Conv2dParams, GemmParams, KernelName, Pool2dParams, BatchNormParams } from '../src/kernels/interface.js';
import { BENCH_MODELS, checkStepMemory, median, stepRunner } from '../src/runs/bench.js';
import { bufferPool } from '../src/tensor/index.js';

const BATCH = 128;
const INPUT_SHAPE = [3, 32, 32] as const;
const CLASSES = 10;

type Phase = 'forward' | 'backward' | 'step';
const PHASES: Phase[] = ['forward', 'backward', 'step'];

interface KernelStat {
  calls: number;
  ms: number;
}

/**
 * Kernel time by phase and kernel name, and by call site (kernel + geometry) for the top list.
 * The phase follows the kernels the step calls: forward until the loss is computed
 * (softmaxCrossEntropyForward), backward until the optimiser's first update, then step. So the
 * optimiser's zeroGrad counts in forward, and the disposal of the step's scope in backward.
 */
class KernelClock {
  phase: Phase = 'forward';
  /** performance.now() when backward and step began in the current step. */
  backwardStart = 0;
  stepStart = 0;
  readonly byPhase = new Map<Phase, Map<string, KernelStat>>();
  readonly byCall = new Map<string, KernelStat>();

  beforeKernel(kernel: KernelName, now: number): void {
    if (this.phase !== 'step' && (kernel === 'sgdUpdate' || kernel === 'adamUpdate')) {
      this.phase = 'step';
      this.stepStart = now;
    }
  }

  afterKernel(kernel: KernelName, now: number): void {
    if (this.phase === 'forward' && kernel === 'softmaxCrossEntropyForward') {
      this.phase = 'backward';
      this.backwardStart = now;
    }
  }

  record(kernel: string, detail: string, ms: number): void {
    let phaseMap = this.byPhase.get(this.phase);
    if (!phaseMap) this.byPhase.set(this.phase, (phaseMap = new Map<string, KernelStat>()));
    bump(phaseMap, kernel, ms);
    bump(this.byCall, `${this.phase} ${kernel} ${detail}`, ms);
  }

  kernelMs(phase: Phase): number {
    let total = 0;
    for (const s of this.byPhase.get(phase)?.values() ?? []) total += s.ms;
    return total;
  }

  reset(): void {
    this.phase = 'forward';
    this.backwardStart = this.stepStart = 0;
    this.byPhase.clear();
    this.byCall.clear();
  }
}

function bump(map: Map<string, KernelStat>, key: string, ms: number): void {
  const stat = map.get(key);
  if (stat) {
    stat.calls++;
    stat.ms += ms;
  } else map.set(key, { calls: 1, ms });
}

function gemmDetail(p: GemmParams): string {
  return `${p.m}x${p.n}x${p.k}${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'}${p.beta !== 0 ? ' beta' : ''}`;
}

function convDetail(p: Conv2dParams): string {
  return `${p.c}->${p.outC} ${p.h}x${p.w} k${p.kh}s${p.strideH}p${p.padH}`;
}

function poolDetail(p: Pool2dParams): string {
  return `c${p.c} ${p.h}x${p.w} k${p.kh}s${p.strideH}`;
}

function bnDetail(p: BatchNormParams): string {
  return `c${p.c} s${p.spatial}`;
}

/** A short description of a kernel call's size, from its parameter object or its first array. */
function describeCall(kernel: KernelName, args: unknown[]): string {
  const p = args.find((a) => a !== null && typeof a === 'object' && !ArrayBuffer.isView(a)) as
    Record<string, unknown> | undefined;
  if (kernel === 'gemm') return gemmDetail(p as unknown as GemmParams);
  if (kernel.startsWith('conv2d')) return convDetail(p as unknown as Conv2dParams);
  if (kernel.includes('Pool2d')) return poolDetail(p as unknown as Pool2dParams);
  if (kernel.startsWith('batchNorm')) return bnDetail(p as unknown as BatchNormParams);
  const first = args.find((a) => ArrayBuffer.isView(a)) as Float32Array | undefined;
  return first ? `n${first.length}` : '';
}

/** The active kernels with every call timed into `clock`. */
function instrument(base: Kernels, clock: KernelClock): Kernels {
  const wrapped: Record<string, unknown> = { name: base.name };
  for (const key of Object.keys(base) as Array<KernelName | 'name'>) {
    if (key === 'name') continue;
    const fn = (base[key] as (...args: unknown[]) => unknown).bind(base);
    wrapped[key] = (...args: unknown[]) => {
      const t0 = performance.now();
      clock.beforeKernel(key, t0);
      const result = fn(...args);
      const t1 = performance.now();
      clock.record(key, describeCall(key, args), t1 - t0);
      clock.afterKernel(key, t1);
      return result;
    };
  }
  return wrapped as unknown as Kernels;
}

/** One instrumented step of `runner`: wall time per phase (see KernelClock). */
function timePhases(runner: { step(): void }, clock: KernelClock): Record<Phase, number> {
  clock.reset();
  const start = performance.now();
  runner.step();
  const end = performance.now();
  if (clock.backwardStart === 0 || clock.stepStart === 0) {
    throw new Error(
      'step-profile: a step must compute softmaxCrossEntropyForward and then call sgdUpdate or adamUpdate, or its phases cannot be told apart',
    );
  }
  return {
    forward: clock.backwardStart - start,
    backward: clock.stepStart - clock.backwardStart,
    step: end - clock.stepStart,
  };
}

interface ModelProfile {
  model: string;
  best_ms: number;
  median_ms: number;
  images_per_s: number;
  /** Instrumented steps: per phase, wall ms, kernel ms and the rest (framework overhead and timers). */
  phases: Record<Phase, { wall_ms: number; kernel_ms: number; other_ms: number }>;
  kernels: Array<{ phase: Phase; kernel: string; calls: number; ms: number }>;
  top_calls: Array<{ call: string; calls: number; ms: number }>;
  pool_allocated_after_warmup_bytes: number;
  array_buffer_growth_bytes: number;
}

function profileModel(name: string, steps: number): ModelProfile {
  // Plain steps first, exactly as `randlab bench` times them.
  const entry = BENCH_MODELS[name]!;
  const runner = stepRunner(entry.model, entry.options, BATCH, INPUT_SHAPE, CLASSES);
  const times: number[] = [];
  runner.step();
  runner.step();
  const poolBefore = bufferPool.stats().allocatedBytes;
  const buffersBefore = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    runner.step();
    times.push(performance.now() - t0);
  }
  const poolAllocated = bufferPool.stats().allocatedBytes - poolBefore;
  const bufferGrowth = process.memoryUsage().arrayBuffers - buffersBefore;
  bufferPool.clear();

  // Instrumented steps: the best of each phase over the steps (the least disturbed run).
  const clock = new KernelClock();
  const base = getKernels();
  setKernels(instrument(base, clock));
  const phases = {} as ModelProfile['phases'];
  let kernels: ModelProfile['kernels'] = [];
  let topCalls: ModelProfile['top_calls'] = [];
  try {
    const instrumented = stepRunner(entry.model, entry.options, BATCH, INPUT_SHAPE, CLASSES);
    instrumented.step();
    instrumented.step();
    let bestTotal = Infinity;
    for (let i = 0; i < steps; i++) {
      const wall = timePhases(instrumented, clock);
      const total = PHASES.reduce((sum, p) => sum + wall[p], 0);
      if (total >= bestTotal) continue;
      bestTotal = total;
      for (const p of PHASES) {
        const kernelMs = clock.kernelMs(p);
        phases[p] = { wall_ms: wall[p], kernel_ms: kernelMs, other_ms: wall[p] - kernelMs };
      }
      kernels = [];
      for (const [phase, map] of clock.byPhase)
        for (const [kernel, s] of map) kernels.push({ phase, kernel, calls: s.calls, ms: s.ms });
      kernels.sort((a, b) => b.ms - a.ms);
      topCalls = [...clock.byCall]
        .map(([call, s]) => ({ call, calls: s.calls, ms: s.ms }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 25);
    }
  } finally {
    setKernels(base);
    bufferPool.clear();
  }
  const best = Math.min(...times);
  return {
    model: name,
    best_ms: best,
    median_ms: median(times),
    images_per_s: (BATCH * 1000) / best,
    phases,
    kernels,
    top_calls: topCalls,
    pool_allocated_after_warmup_bytes: poolAllocated,
    array_buffer_growth_bytes: bufferGrowth,
  };
}

function printProfile(p: ModelProfile): void {
  const f = (ms: number) => ms.toFixed(2).padStart(9);
  console.log(
    `\n== ${p.model}: best ${p.best_ms.toFixed(1)} ms (median ${p.median_ms.toFixed(1)}), ${p.images_per_s.toFixed(1)} img/s at best`,
  );
  console.log(
    `   pool allocated after warm-up: ${p.pool_allocated_after_warmup_bytes} B; ArrayBuffer growth ${(p.array_buffer_growth_bytes / 2 ** 20).toFixed(1)} MiB`,
  );
  console.log('   phase         wall ms   kernel ms   other ms');
  let wall = 0;
  let kernel = 0;
  for (const phase of PHASES) {
    const s = p.phases[phase];
    if (!s) continue;
    wall += s.wall_ms;
    kernel += s.kernel_ms;
    console.log(`   ${phase.padEnd(10)} ${f(s.wall_ms)}   ${f(s.kernel_ms)}  ${f(s.other_ms)}`);
  }
  console.log(`   ${'total'.padEnd(10)} ${f(wall)}   ${f(kernel)}  ${f(wall - kernel)}`);
  console.log('   kernels by phase:');
  for (const k of p.kernels.filter((k) => k.ms >= 0.05))
    console.log(`     ${k.phase.padEnd(9)} ${k.kernel.padEnd(26)} ${String(k.calls).padStart(4)}× ${f(k.ms)} ms`);
  console.log('   heaviest call sites:');
  for (const c of p.top_calls) console.log(`     ${c.call.padEnd(62)} ${String(c.calls).padStart(4)}× ${f(c.ms)} ms`);
}

// --- memory ------------------------------------------------------------------------------------

function memoryCheckInThisProcess(name: string, early: number, late: number, json: boolean): boolean {
  const before = bufferPool.stats().allocatedBytes;
  const result = checkStepMemory(name, { early, late });
  const row = { ...result, pool_allocated_mb: (bufferPool.stats().allocatedBytes - before) / 2 ** 20 };
  if (json) console.log(JSON.stringify(row));
  else {
    console.log(
      `memory ${name}: ${result.rss_mb_early.toFixed(1)} MiB after ${early} steps, ${result.rss_mb_late.toFixed(1)} MiB after ${late} ` +
        `(${(result.growth * 100).toFixed(2)}%) ${result.ok ? 'ok' : 'FAILED'}; pool allocated ${row.pool_allocated_mb.toFixed(1)} MiB in all`,
    );
  }
  return result.ok;
}

/** Each model in its own process, so one model's memory does not count towards the next. */
function memoryChecks(models: string[], early: number, late: number, json: boolean): boolean {
  let ok = true;
  for (const name of models) {
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--memory-child',
        name,
        '--early',
        String(early),
        '--late',
        String(late),
        ...(json ? ['--json'] : []),
      ],
      {
        stdio: 'inherit',
      },
    );
    if (child.status !== 0) ok = false;
  }
  return ok;
}

// --- command line ------------------------------------------------------------------------------

interface Cli {
  models: string[];
  steps: number;
  json: boolean;
  memory: string[] | null;
  memoryChild: string | null;
  early: number;
  late: number;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = {
    models: Object.keys(BENCH_MODELS),
    steps: 5,
    json: false,
    memory: null,
    memoryChild: null,
    early: 20,
    late: 200,
  };
  const models = (text: string) => {
    const names = text.split(',').map((m) => m.trim());
    for (const m of names)
      if (!BENCH_MODELS[m])
        throw new Error(`step-profile: unknown model '${m}' (available: ${Object.keys(BENCH_MODELS).join(', ')})`);
    return names;
  };
  const count = (flag: string, text: string | undefined) => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`step-profile: ${flag} needs a positive integer, got '${text}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') cli.json = true;
    else if (arg === '--models') cli.models = models(argv[++i] ?? '');
    else if (arg === '--steps') cli.steps = count(arg, argv[++i]);
    else if (arg === '--memory') cli.memory = models(argv[++i] ?? '');
    else if (arg === '--memory-child') cli.memoryChild = models(argv[++i] ?? '')[0]!;
    else if (arg === '--early') cli.early = count(arg, argv[++i]);
    else if (arg === '--late') cli.late = count(arg, argv[++i]);
    else
      throw new Error(
        `step-profile: unknown argument ${arg} (expected --models, --steps, --json, --memory, --early, --late)`,
      );
  }
  if (cli.early >= cli.late) throw new Error(`step-profile: --early (${cli.early}) must be below --late (${cli.late})`);
  return cli;
}

function main(): void {
  const cli = parseArgs(process.argv.slice(2));
  if (cli.memoryChild) {
    process.exitCode = memoryCheckInThisProcess(cli.memoryChild, cli.early, cli.late, cli.json) ? 0 : 1;
    return;
  }
  if (cli.memory) {
    process.exitCode = memoryChecks(cli.memory, cli.early, cli.late, cli.json) ? 0 : 1;
    return;
  }
  if (!cli.json)
    console.log(
      `kernels: ${getKernels().name}; batch ${BATCH}, input ${INPUT_SHAPE.join('×')}, ${cli.steps} timed steps`,
    );
  for (const name of cli.models) {
    const profile = profileModel(name, cli.steps);
    if (cli.json) console.log(JSON.stringify(profile));
    else printProfile(profile);
  }
}

main();

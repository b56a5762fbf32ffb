/**
 * Training-step benchmarks: forward + backward + SGD-momentum update of a model at a fixed batch
 * on random inputs, the same measurement as bench/pytorch.py makes for PyTorch (warm-up steps,
 * then the median of timed steps), and a check that resident memory stays flat over many steps.
 */
import { getKernels } from '../kernels/index.js';
import { createModel, type Classifier, type ModelOptions } from '../models/index.js';
import { SGD } from '../optim/index.js';
import {
  bufferPool,
  clearDevicePool,
  crossEntropy,
  labels as labelTensor,
  Rng,
  tensor,
  tidy,
  useWebGpu,
} from '../tensor/index.js';

/** The models `randlab bench` times, with bench/pytorch.py's definitions (CIFAR shapes, 10 classes). */
export const BENCH_MODELS: Readonly<
  Record<string, { readonly model: string; readonly options: Partial<ModelOptions> }>
> = {
  mlp: { model: 'mlp', options: { widths: [1024, 1024] } },
  cnn2: { model: 'cnn2', options: {} },
  vgg16: { model: 'vgg16', options: { batchNorm: true } },
  resnet18: { model: 'resnet18', options: { variant: 'cifar' } },
};

export interface StepBenchOptions {
  readonly batch?: number;
  readonly warmup?: number;
  /** Timed steps (the median is reported). */
  readonly steps?: number;
  readonly inputShape?: readonly number[];
  readonly numClasses?: number;
}

export interface StepBenchResult {
  readonly model: string;
  readonly batch: number;
  readonly images_per_s: number;
  readonly ms_per_step: number;
  readonly steps: number;
  readonly backend: string;
}

/** A training step on one fixed random batch, repeatable. */
export interface StepRunner {
  readonly model: Classifier;
  step(): void;
}

export function stepRunner(
  name: string,
  modelOptions: Partial<ModelOptions>,
  batch: number,
  inputShape: readonly number[],
  numClasses: number,
): StepRunner {
  const model = createModel(name, { numClasses, inputShape, ...modelOptions, rng: new Rng(0, 'init') });
  const optimizer = new SGD(model.namedParameters(), { lr: 0.01, momentum: 0.9 });
  const rng = new Rng(0, 'data');
  const x = new Float32Array(batch * inputShape.reduce((a, b) => a * b, 1));
  rng.fillNormal(x);
  const y = Int32Array.from({ length: batch }, () => rng.int(numClasses));
  return {
    model,
    step: () => {
      optimizer.zeroGrad();
      tidy(() => {
        const loss = crossEntropy(model.call(tensor(x, [batch, ...inputShape])), labelTensor(y));
        optimizer.backwardAndStep(loss);
      });
    },
  };
}

function benchEntry(name: string): (typeof BENCH_MODELS)[string] {
  const entry = BENCH_MODELS[name];
  if (!entry) throw new Error(`bench: unknown model '${name}' (available: ${Object.keys(BENCH_MODELS).join(', ')})`);
  return entry;
}

/**
 * benchTrainingStep on the WebGPU device (`randlab bench --device webgpu`): the model is initialised
 * on the host and moved, the fixed batch uploaded once, and each timed step ends when the device
 * has finished it.
 */
export async function benchTrainingStepOnWebGpu(
  name: string,
  options: StepBenchOptions = {},
): Promise<StepBenchResult> {
  const entry = benchEntry(name);
  const batch = options.batch ?? 128;
  const inputShape = options.inputShape ?? [3, 32, 32];
  const numClasses = options.numClasses ?? 10;
  const gpu = await useWebGpu();
  const model = createModel(entry.model, { numClasses, inputShape, ...entry.options, rng: new Rng(0, 'init') });
  await model.to('webgpu');
  const optimizer = new SGD(model.namedParameters(), { lr: 0.01, momentum: 0.9 });
  const rng = new Rng(0, 'data');
  const host = new Float32Array(batch * inputShape.reduce((a, b) => a * b, 1));
  rng.fillNormal(host);
  const x = await tensor(host, [batch, ...inputShape]).to('webgpu');
  const y = await labelTensor(Int32Array.from({ length: batch }, () => rng.int(numClasses))).to('webgpu');
  const step = async (): Promise<void> => {
    optimizer.zeroGrad();
    tidy(() => optimizer.backwardAndStep(crossEntropy(model.call(x), y)));
    await gpu.flush();
  };
  const times: number[] = [];
  try {
    for (let i = 0; i < (options.warmup ?? 2); i++) await step();
    for (let i = 0; i < (options.steps ?? 10); i++) {
      const start = performance.now();
      await step();
      times.push(performance.now() - start);
    }
  } finally {
    bufferPool.clear();
    clearDevicePool();
  }
  return stepBenchResult(name, batch, times, 'webgpu');
}

export function benchTrainingStep(name: string, options: StepBenchOptions = {}): StepBenchResult {
  const entry = benchEntry(name);
  const batch = options.batch ?? 128;
  const runner = stepRunner(
    entry.model,
    entry.options,
    batch,
    options.inputShape ?? [3, 32, 32],
    options.numClasses ?? 10,
  );
  const times: number[] = [];
  try {
    for (let i = 0; i < (options.warmup ?? 2); i++) runner.step();
    for (let i = 0; i < (options.steps ?? 10); i++) {
      const start = performance.now();
      runner.step();
      times.push(performance.now() - start);
    }
  } finally {
    // The next model needs buffers of other sizes: free this one's.
    bufferPool.clear();
  }
  return stepBenchResult(name, batch, times, getKernels().name);
}

/** The median of the timed steps, as images/s and ms per step. */
function stepBenchResult(name: string, batch: number, times: readonly number[], backend: string): StepBenchResult {
  const ms = median(times);
  return { model: name, batch, images_per_s: (batch * 1000) / ms, ms_per_step: ms, steps: times.length, backend };
}

export interface MemoryCheckResult {
  readonly model: string;
  readonly batch: number;
  /** Resident set size after `early` and after `late` steps, MiB. */
  readonly rss_mb_early: number;
  readonly rss_mb_late: number;
  readonly early: number;
  readonly late: number;
  /** rss_late / rss_early − 1. */
  readonly growth: number;
  readonly ok: boolean;
}

/**
 * Trains `late` steps and compares resident memory after `early` and after `late` steps: with the
 * buffer pool, nothing a step allocates should outlive it, so memory must stay within `tolerance`.
 */
export function checkStepMemory(
  name: string,
  options: {
    batch?: number;
    early?: number;
    late?: number;
    tolerance?: number;
    inputShape?: readonly number[];
    modelOptions?: Partial<ModelOptions>;
  } = {},
): MemoryCheckResult {
  const entry = BENCH_MODELS[name];
  if (!entry) throw new Error(`bench: unknown model '${name}' (available: ${Object.keys(BENCH_MODELS).join(', ')})`);
  const batch = options.batch ?? 128;
  const early = options.early ?? 20;
  const late = options.late ?? 200;
  const runner = stepRunner(
    entry.model,
    { ...entry.options, ...options.modelOptions },
    batch,
    options.inputShape ?? [3, 32, 32],
    10,
  );
  let rssEarly = 0;
  let rssLate = 0;
  try {
    for (let step = 1; step <= late; step++) {
      runner.step();
      if (step === early) rssEarly = process.memoryUsage.rss();
    }
    rssLate = process.memoryUsage.rss();
  } finally {
    bufferPool.clear();
  }
  const growth = rssLate / rssEarly - 1;
  const mib = (bytes: number) => bytes / 2 ** 20;
  return {
    model: name,
    batch,
    rss_mb_early: mib(rssEarly),
    rss_mb_late: mib(rssLate),
    early,
    late,
    growth,
    ok: growth <= (options.tolerance ?? 0.05),
  };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

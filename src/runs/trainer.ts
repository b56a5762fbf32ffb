/**
 * The training loop of a run: data, model, optimiser and schedule from the config; metrics into the
 * run store; checkpoints that resume bit-exactly; probes; a guard against divergence.
 *
 * Exact resume: everything random is a pure function of (seed, stream, counter) — the data order of
 * epoch e, the augmentation of example q — or has its counter saved (dropout). A checkpoint holds
 * the weights and buffers, the optimiser's moments and step counts, the loader's (epoch, position)
 * and the step; the learning rate is a pure function of the step. A resumed run therefore computes
 * exactly the steps the uninterrupted one would have, and ends with bit-identical weights (given the
 * same kernels and thread count).
 *
 * Phases: the transfer protocol (pre-train, rescale, replace the head, fine-tune) is two runs, the
 * second with `init.from: {run: <first>, rescale: true, reinitHead: true}`; each phase then has its own
 * metrics, checkpoints and resume. `initialize` lets an experiment replace layers' initial weights
 * (e.g. the covariance initialisation) before the first step.
 */
import { randomBytes } from 'node:crypto';
import { rmdirSync } from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { readCheckpoint, readStateDict, saveCheckpoint } from '../checkpoint/index.js';
import type { LabelSpec } from '../data/labels.js';
import { BatchLoader } from '../data/loader.js';
import { getKernels } from '../kernels/index.js';
import { createModel, type Classifier } from '../models/index.js';
import { parameterNorms, rescaleToNorms, type StateDict } from '../nn/index.js';
import { Adam, AdamW, SGD, scheduleFromConfig, type OptimizerState, type Schedule } from '../optim/index.js';
import {
  accuracy,
  accuracyTensor,
  bufferPool,
  clearDevicePool,
  crossEntropy,
  formatShape,
  labels as labelTensor,
  noGrad,
  Rng,
  tensor,
  tidy,
  useWebGpu,
  zeros,
  type Device,
  type Tensor,
} from '../tensor/index.js';
import {
  checkpointAt,
  checkpointPrefix,
  deleteCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  readInitNorms,
  removeStaleTempFiles,
  writeInitNorms,
  type RunCheckpoint,
} from './checkpoints.js';
import { completeSchedule, resolveConfig, type RunConfig } from './config.js';
import { prepareRunData, type DataLocation, type RunData } from './data.js';
import { acquireDevice } from './device.js';
import { evaluateOn } from './evaluate.js';
import { LeaseLostError, RunLock } from './lock.js';
import { checkRunId, type MetricRow, type RunStatus, type RunStore } from './store.js';

/** A measurement taken during training every `every` steps (and at step 0 of a fresh run). */
export interface Probe {
  readonly every: number;
  /** Metric name → value; names are stored as given. */
  onStep(step: number, model: Classifier): Record<string, number> | Promise<Record<string, number>>;
}

export type ProgressEvent =
  | {
      readonly type: 'start';
      readonly runId: string;
      readonly step: number;
      readonly totalSteps: number;
      readonly stepsPerEpoch: number;
      readonly resumed: boolean;
      readonly trainExamples: number;
    }
  | {
      readonly type: 'step';
      readonly runId: string;
      readonly step: number;
      readonly totalSteps: number;
      readonly epoch: number;
      readonly loss: number;
      readonly accuracy: number;
      readonly imagesPerSecond: number;
      readonly etaSeconds: number;
    }
  | {
      readonly type: 'eval';
      readonly runId: string;
      readonly step: number;
      readonly metrics: Readonly<Record<string, number>>;
    }
  | { readonly type: 'checkpoint'; readonly runId: string; readonly step: number; readonly path: string }
  | {
      readonly type: 'end';
      readonly runId: string;
      readonly step: number;
      readonly status: RunStatus;
      readonly seconds: number;
    };

/** What a custom initialiser gets: the freshly initialised model and the run's data. */
export interface InitializeContext {
  readonly config: RunConfig;
  readonly data: RunData;
  readonly store: RunStore;
}

export interface TrainOptions extends DataLocation {
  readonly store: RunStore;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly probes?: readonly Probe[];
  /** Replace an existing run of the same id (also a finished one). */
  readonly force?: boolean;
  /** Stop after the current step, checkpoint, and mark the run 'stopped'. */
  readonly signal?: AbortSignal;
  /** Runs after the standard initialisation (and `init.from`) of a fresh run, before the first step. */
  readonly initialize?: (model: Classifier, context: InitializeContext) => void | Promise<void>;
  /** Train on this device instead of the config's `device` (resuming a run on another device). */
  readonly device?: Device;
}

/** The batch loss and accuracy of a step, when they were read. */
interface StepMetrics {
  readonly loss: number;
  readonly accuracy: number;
}

/**
 * The device a run trains on, acquired before anything of the run is written: with `webgpu` and no
 * usable adapter this throws what was tried and how to get one, and no run folder exists.
 */
async function acquireRunDevice(config: RunConfig, options: TrainOptions): Promise<Device> {
  const device = options.device ?? config.device;
  if (device === 'webgpu' && (options.probes ?? []).length > 0)
    throw new Error('device webgpu: this run has probes, which read the model on the host; train it on the cpu');
  return acquireDevice(device);
}

export interface RunResult {
  readonly runId: string;
  readonly status: RunStatus;
  readonly step: number;
  readonly dir: string;
  /** The last value of each metric. */
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly model: Classifier;
}

/** Training stopped because the loss or the weights stopped being finite. */
export class DivergenceError extends Error {
  constructor(
    readonly step: number,
    message: string,
  ) {
    super(message);
    this.name = 'DivergenceError';
  }
}

/** What a checkpoint records beyond weights, optimiser and RNG states. */
interface CheckpointExtra {
  readonly step: number;
  readonly loader: { readonly epoch: number; readonly position: number };
}

/** Metric names written by the trainer (probes add their own). */
export const METRICS = {
  batchLoss: 'train/batch_loss',
  batchAccuracy: 'train/batch_accuracy',
  trainLoss: 'train/loss',
  trainAccuracy: 'train/accuracy',
  /** On the test split's real labels. */
  testLoss: 'test/loss',
  testAccuracy: 'test/accuracy',
  /** On test labels drawn like the training labels (`data.testLabels: as-train` with random or noisy labels). */
  testAsTrainLoss: 'test_as_train/loss',
  testAsTrainAccuracy: 'test_as_train/accuracy',
  imagesPerSecond: 'images_per_s',
  lr: 'lr',
  epoch: 'epoch',
} as const;

/** The names test loss and accuracy are recorded under: they say which labels the test split was scored on. */
export function testMetricNames(scoredOn: LabelSpec): { readonly loss: string; readonly accuracy: string } {
  return scoredOn.kind === 'real'
    ? { loss: METRICS.testLoss, accuracy: METRICS.testAccuracy }
    : { loss: METRICS.testAsTrainLoss, accuracy: METRICS.testAsTrainAccuracy };
}

/**
 * fn(lock) with the run's lock held; released again if fn throws (else the Trainer releases it after training).
 * Also released when the process ends meanwhile (process.exit, a signal that ends it); a signal the process
 * handles (the CLI's SIGINT/SIGTERM: stop, checkpoint) leaves it held until the Trainer releases it.
 */
async function withLock<T>(runDir: string, runId: string, fn: (lock: RunLock) => T | Promise<T>): Promise<T> {
  const lock = RunLock.acquire(runDir, runId).releaseOnExit();
  try {
    return await fn(lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Starts a new run from a config (raw or resolved) and trains it to the end. */
export async function trainRun(config: unknown, options: TrainOptions): Promise<RunResult> {
  const trainer = await Trainer.create(resolveConfig(config), options);
  return trainer.run();
}

/** Continues a run of the store from its last checkpoint (or from the start if it has none). */
export async function resumeRun(runId: string, options: Omit<TrainOptions, 'force'>): Promise<RunResult> {
  const trainer = await Trainer.resume(runId, options);
  return trainer.run();
}

export class Trainer {
  private readonly pending: MetricRow[] = [];
  private lastCheckpointStep: number;
  private lastEvalStep = -1;

  private constructor(
    readonly device: Device,
    readonly runId: string,
    readonly config: RunConfig,
    readonly data: RunData,
    readonly model: Classifier,
    readonly optimizer: RunOptimizer,
    private readonly schedule: Schedule,
    private readonly loader: BatchLoader,
    private readonly dropoutRng: Rng,
    readonly totalSteps: number,
    private step: number,
    private readonly resumed: boolean,
    private readonly options: TrainOptions,
    private readonly lock: RunLock,
  ) {
    this.lastCheckpointStep = resumed ? step : -1;
  }

  /** Registers a new run in the store and initialises its model. */
  static async create(config: RunConfig, options: TrainOptions): Promise<Trainer> {
    const { store } = options;
    const runId = checkRunId(config.name ?? defaultRunId(config));
    refuseExisting(store, runId, options.force ?? false);
    const device = await acquireRunDevice(config, options);
    // Locked before anything of the run is written: a second process creating or training the same run
    // (or replacing it with --force) is refused with a LockHeldError, never left half-created.
    const runDir = store.runDir(runId);
    return withLock(runDir, runId, async (lock) => {
      const data = await prepareRunData(config, dataLocation(options));
      const model = buildModel(config, data);
      if (config.init.from) initializeFrom(model, config, options.store);
      await options.initialize?.(model, { config, data, store });
      const total = totalSteps(config, data);
      const resolved = { ...config, name: runId, schedule: completeSchedule(config.schedule, total) };
      store.createRun(
        { id: runId, model: config.model.name, dataset: datasetLabel(config), config: resolved },
        { replace: options.force ?? false },
      );
      writeInitNorms(runDir, parameterNorms(model));
      return Trainer.assemble(device, runId, resolved, data, model, null, options, lock);
    }).catch((error: unknown) => {
      removeIfEmpty(runDir); // the lock's folder, when the run failed before createRun wrote into it
      throw error;
    });
  }

  /** Rebuilds a run of the store and loads its last checkpoint. */
  static async resume(runId: string, options: TrainOptions): Promise<Trainer> {
    const { store } = options;
    const run = store.requireRun(runId);
    if (run.status === 'finished')
      throw new Error(`run '${runId}' is already finished (step ${run.step}); there is nothing to resume`);
    const device = await acquireRunDevice(resolveConfig(store.readConfig(runId)), options);
    return withLock(store.runDir(runId), runId, async (lock) => {
      const config = resolveConfig(store.readConfig(runId), `${store.runDir(runId)}/config.json`);
      const data = await prepareRunData(config, dataLocation(options));
      const checkpointDir = store.checkpointDir(runId);
      removeStaleTempFiles(checkpointDir);
      const checkpoint = latestCheckpoint(checkpointDir);
      const model = buildModel(config, data);
      if (!checkpoint) {
        // Killed before its first checkpoint: start again from step 0, exactly as the first attempt did.
        if (config.init.from) initializeFrom(model, config, store);
        await options.initialize?.(model, { config, data, store });
      }
      store.updateRun(runId, { status: 'running', message: null });
      return Trainer.assemble(device, runId, config, data, model, checkpoint, options, lock);
    });
  }

  /** The trainer of a model initialised (or loaded) on the host, which then moves to `device`. */
  private static async assemble(
    device: Device,
    runId: string,
    config: RunConfig,
    data: RunData,
    model: Classifier,
    checkpoint: RunCheckpoint | null,
    options: TrainOptions,
    lock: RunLock,
  ): Promise<Trainer> {
    let step = 0;
    let loaderState: CheckpointExtra['loader'] | undefined;
    let dropoutRng = new Rng(config.seed, 'dropout');
    const saved = checkpoint ? readCheckpoint(checkpoint.prefix) : null;
    if (saved) model.loadStateDict(saved.modelState);
    // Moved after loading, before the optimiser, whose state is created (or loaded) where the parameters live.
    await model.to(device);
    const optimizer = buildOptimizer(config, model);
    if (checkpoint && saved) {
      if (!saved.optimizerState)
        throw new Error(`checkpoint ${checkpoint.prefix} has no optimiser state; it cannot resume a run`);
      optimizer.loadStateDict(saved.optimizerState);
      const extra = saved.extra as CheckpointExtra | null;
      if (extra?.step !== checkpoint.step)
        throw new Error(
          `checkpoint ${checkpoint.prefix} records step ${String(extra?.step)}, its name says ${checkpoint.step}`,
        );
      step = extra.step;
      loaderState = extra.loader;
      if (saved.rngStates.dropout) dropoutRng = Rng.fromState(saved.rngStates.dropout);
    }
    model.setDropoutRng(dropoutRng);
    const loader = new BatchLoader({
      dataset: data.train,
      labels: data.labels.labels,
      batchSize: config.training.batchSize,
      seed: config.seed,
      shuffle: true,
      dropLast: config.training.dropLast,
      preprocessor: data.preprocessor,
      augment: config.data.augment,
      ...(loaderState ? { state: loaderState } : {}),
    });
    const total = totalSteps(config, data);
    // Metrics logged after the checkpoint (by a killed attempt) are computed again.
    options.store.deleteMetricsAfter(runId, checkpoint ? step : -1);
    const schedule = scheduleFromConfig(completeSchedule(config.schedule, total));
    return new Trainer(
      device,
      runId,
      config,
      data,
      model,
      optimizer,
      schedule,
      loader,
      dropoutRng,
      total,
      step,
      checkpoint !== null,
      options,
      lock,
    );
  }

  get currentStep(): number {
    return this.step;
  }

  /**
   * Trains to the last step. Throws DivergenceError (run marked 'diverged') or any other error (run marked 'failed').
   */
  async run(): Promise<RunResult> {
    const { store, onProgress } = this.options;
    const started = performance.now();
    const end = (status: RunStatus): void =>
      onProgress?.({
        type: 'end',
        runId: this.runId,
        step: this.step,
        status,
        seconds: (performance.now() - started) / 1000,
      });
    onProgress?.({
      type: 'start',
      runId: this.runId,
      step: this.step,
      totalSteps: this.totalSteps,
      stepsPerEpoch: this.loader.batchesPerEpoch,
      resumed: this.resumed,
      trainExamples: this.data.train.n,
    });
    let status: RunStatus;
    try {
      status = await this.trainToEnd();
      if (status === 'finished' && this.lastEvalStep !== this.step) await this.evaluateNow();
      await this.checkpoint();
      // The caller gets the model on the host, as from a cpu run.
      await this.model.to('cpu');
      this.lock.assertHeld();
      store.updateRun(this.runId, {
        status,
        step: this.step,
        message: status === 'stopped' ? `stopped at step ${this.step} of ${this.totalSteps}` : null,
      });
    } catch (error) {
      const failure = this.recordFailure(error);
      end(failure instanceof DivergenceError ? 'diverged' : 'failed');
      throw failure;
    } finally {
      await this.loader.close();
      // The pooled activation buffers fit this model only; a next run in this process needs others.
      bufferPool.clear();
      if (this.device === 'webgpu') clearDevicePool();
      this.lock.release();
    }
    end(status);
    return {
      runId: this.runId,
      status,
      step: this.step,
      dir: store.runDir(this.runId),
      metrics: store.latestMetrics(this.runId),
      model: this.model,
    };
  }

  /** The step loop; returns 'stopped' when the signal asked to stop, else 'finished'. */
  private async trainToEnd(): Promise<RunStatus> {
    const { log, eval: evaluation, checkpoint } = this.config;
    const timer = new StepTimer();
    if (!this.resumed) await this.runProbes(0, true);
    while (this.step < this.totalSteps) {
      // Awaiting a batch is not enough to let the event loop run: the worker's batches arrive as messages,
      // and Node delivers up to 1000 queued messages in one go, each followed by its microtasks (our whole
      // next step), so signals, timers and the IPC channel went unheard for up to 1000 steps (a SIGTERM
      // ignored for minutes on CIFAR-10). One turn of the event loop per step lets them in.
      await yieldToEventLoop();
      if (this.options.signal?.aborted) return 'stopped';
      timer.begin();
      const batch = await this.loader.next();
      const logNow = (this.step + 1) % log.every === 0 || this.step + 1 === this.totalSteps;
      const metrics =
        this.device === 'cpu'
          ? this.trainStep(batch.x, batch.y, batch.size)
          : await this.trainStepOnWebGpu(batch.x, batch.y, batch.size, logNow);
      this.step++;
      timer.end(batch.size);
      const last = this.step === this.totalSteps;
      if (logNow && metrics) this.logStep(metrics.loss, metrics.accuracy, timer);
      if (this.step % evaluation.every === 0) await this.evaluateNow();
      await this.runProbes(this.step, false);
      if (this.step % checkpoint.every === 0 && !last) await this.checkpoint();
      this.flush();
    }
    return 'finished';
  }

  private logStep(loss: number, batchAccuracy: number, timer: StepTimer): void {
    const imagesPerSecond = timer.takeImagesPerSecond();
    const epoch = this.step / this.loader.batchesPerEpoch;
    this.record({
      [METRICS.batchLoss]: loss,
      [METRICS.batchAccuracy]: batchAccuracy,
      [METRICS.imagesPerSecond]: imagesPerSecond,
      [METRICS.lr]: this.schedule(this.step - 1),
      [METRICS.epoch]: epoch,
    });
    this.options.onProgress?.({
      type: 'step',
      runId: this.runId,
      step: this.step,
      totalSteps: this.totalSteps,
      epoch,
      loss,
      accuracy: batchAccuracy,
      imagesPerSecond,
      etaSeconds: (this.totalSteps - this.step) * timer.secondsPerStep,
    });
  }

  /** Marks the run failed or diverged (naming the last good checkpoint) and returns the error to throw. */
  private recordFailure(error: unknown): unknown {
    // Another process has the run now (this one stalled past its lease): whatever it writes is its own.
    if (error instanceof LeaseLostError) return error;
    const { store } = this.options;
    this.flush();
    if (!(error instanceof DivergenceError)) {
      store.updateRun(this.runId, { status: 'failed', message: (error as Error).message });
      return error;
    }
    const last = latestCheckpoint(store.checkpointDir(this.runId));
    const message = `${error.message}; the last good checkpoint is ${last ? `step ${last.step} (${last.weights})` : 'none (it diverged before the first checkpoint)'}`;
    store.updateRun(this.runId, { status: 'diverged', message });
    return new DivergenceError(error.step, `run '${this.runId}' diverged: ${message}`);
  }

  /** One SGD step on a batch; returns the batch's loss and accuracy. */
  private trainStep(x: Float32Array, y: Int32Array, size: number): { loss: number; accuracy: number } {
    this.optimizer.lr = this.schedule(this.step);
    this.optimizer.zeroGrad();
    const result = tidy(() => {
      const logits = this.model.call(tensor(x, [size, ...this.data.inputShape]));
      this.guardFinite(logits);
      const targets = labelTensor(y);
      const loss = crossEntropy(logits, targets);
      const result = { loss: loss.item(), accuracy: accuracy(logits, targets) };
      this.optimizer.backwardAndStep(loss);
      return result;
    });
    return result;
  }

  /**
   * trainStep on the WebGPU device: the batch and its labels are uploaded, nothing else crosses;
   * the loss and accuracy are downloaded only when `read` (log steps), and a loss that is not
   * finite is divergence then (on the cpu the logits are checked every step; here between log
   * steps a divergence shows at the next log step or checkpoint). Waits for the step to finish,
   * so that the GPU's queue never runs ahead of the host by more than a step.
   */
  private async trainStepOnWebGpu(
    x: Float32Array,
    y: Int32Array,
    size: number,
    read: boolean,
  ): Promise<StepMetrics | null> {
    this.optimizer.lr = this.schedule(this.step);
    this.optimizer.zeroGrad();
    const input = await tensor(x, [size, ...this.data.inputShape]).to('webgpu');
    const targets = await labelTensor(y).to('webgpu');
    const [loss, correct] = tidy(() => {
      const logits = this.model.call(input);
      const loss = crossEntropy(logits, targets);
      const correct = read ? accuracyTensor(logits, targets) : null;
      this.optimizer.backwardAndStep(loss);
      return [loss, correct] as const;
    });
    try {
      if (!correct) {
        await (await useWebGpu()).flush();
        return null;
      }
      const metrics = { loss: (await loss.read())[0]!, accuracy: (await correct.read())[0]! };
      if (!Number.isFinite(metrics.loss))
        throw new DivergenceError(
          this.step + 1,
          `the loss at step ${this.step + 1} is not finite (${metrics.loss}; learning rate ${this.optimizer.lr})`,
        );
      return metrics;
    } finally {
      for (const t of [input, targets, loss, correct]) t?.dispose();
    }
  }

  private guardFinite(logits: Tensor): void {
    if (Number.isFinite(getKernels().sum(logits.data))) return;
    throw new DivergenceError(
      this.step + 1,
      `the logits at step ${this.step + 1} are not finite (NaN or ±Inf; learning rate ${this.optimizer.lr})`,
    );
  }

  private async evaluateNow(): Promise<void> {
    const { eval: settings } = this.config;
    const train = await evaluateOn(this.device, this.model, this.data.train, {
      labels: this.data.labels.labels,
      preprocessor: this.data.preprocessor,
      batchSize: settings.batchSize,
      limit: settings.trainLimit,
    });
    const metrics: Record<string, number> = {
      [METRICS.trainLoss]: train.loss,
      [METRICS.trainAccuracy]: train.accuracy,
    };
    const { test, testLabels } = this.data;
    if (test && testLabels) {
      const result = await evaluateOn(this.device, this.model, test, {
        labels: testLabels.labels,
        preprocessor: this.data.preprocessor,
        batchSize: settings.batchSize,
      });
      const names = testMetricNames(testLabels.spec);
      metrics[names.loss] = result.loss;
      metrics[names.accuracy] = result.accuracy;
    }
    this.record(metrics);
    this.lastEvalStep = this.step;
    this.options.onProgress?.({ type: 'eval', runId: this.runId, step: this.step, metrics });
  }

  private async runProbes(step: number, atStart: boolean): Promise<void> {
    for (const probe of this.options.probes ?? []) {
      if (!atStart && step % probe.every !== 0 && step !== this.totalSteps) continue;
      const values = await noGrad(() => probe.onStep(step, this.model));
      this.record(values);
    }
  }

  private record(values: Readonly<Record<string, number>>): void {
    for (const [name, value] of Object.entries(values)) this.pending.push({ step: this.step, name, value });
  }

  /** One transaction for everything recorded since the last flush (a step's metrics, an evaluation). */
  private flush(): void {
    if (this.pending.length === 0) return;
    this.lock.assertHeld();
    this.options.store.appendMetrics(this.runId, this.pending.splice(0));
  }

  /** Saves the state at the current step (metrics first, so a resumed run finds them complete). */
  private async checkpoint(): Promise<void> {
    if (this.lastCheckpointStep === this.step) return;
    this.lock.assertHeld();
    this.flush();
    const { modelState, optimizerState } = await this.readState();
    this.guardFiniteWeights(modelState);
    const { store } = this.options;
    const dir = store.checkpointDir(this.runId);
    const prefix = checkpointPrefix(dir, this.step);
    const extra: CheckpointExtra = { step: this.step, loader: this.loader.state() };
    saveCheckpoint(prefix, {
      model: { stateDict: () => modelState },
      optimizer: { stateDict: () => optimizerState },
      rngStates: { dropout: this.dropoutRng.state() },
      extra,
      config: this.config,
    });
    store.recordArtifact(this.runId, {
      kind: 'checkpoint',
      path: relativeToRun(store, this.runId, `${prefix}.safetensors`),
      step: this.step,
    });
    if (this.config.checkpoint.keep === 'last') {
      for (const old of listCheckpoints(dir).filter((c) => c.step !== this.step)) {
        deleteCheckpoint(old);
        store.forgetArtifact(this.runId, relativeToRun(store, this.runId, old.weights));
      }
    }
    store.updateRun(this.runId, { step: this.step });
    this.lastCheckpointStep = this.step;
    this.options.onProgress?.({
      type: 'checkpoint',
      runId: this.runId,
      step: this.step,
      path: `${prefix}.safetensors`,
    });
  }

  /** The model's and optimiser's state on the host: a webgpu run's is downloaded, then written as a cpu run's. */
  private async readState(): Promise<{ modelState: StateDict; optimizerState: OptimizerState }> {
    if (this.device === 'cpu')
      return { modelState: this.model.stateDict(), optimizerState: this.optimizer.stateDict() };
    return { modelState: await this.model.readStateDict(), optimizerState: await this.optimizer.readStateDict() };
  }

  /** A checkpoint is written only with finite weights, so the last one on disk is always good. */
  private guardFiniteWeights(state: ReadonlyMap<string, Tensor>): void {
    const kernels = getKernels();
    for (const [key] of this.model.namedParameters()) {
      if (!Number.isFinite(kernels.sumSquares(state.get(key)!.data)))
        throw new DivergenceError(this.step, `parameter '${key}' is not finite at step ${this.step}`);
    }
  }
}

/** Images per second since the last log line, and a running average of the step time for the ETA. */
class StepTimer {
  private started = 0;
  private images = 0;
  private seconds = 0;
  secondsPerStep = 0;

  begin(): void {
    this.started = performance.now();
  }

  end(images: number): void {
    const seconds = (performance.now() - this.started) / 1000;
    this.images += images;
    this.seconds += seconds;
    this.secondsPerStep = this.secondsPerStep === 0 ? seconds : 0.9 * this.secondsPerStep + 0.1 * seconds;
  }

  takeImagesPerSecond(): number {
    const rate = this.images / this.seconds;
    this.images = 0;
    this.seconds = 0;
    return rate;
  }
}

// --- building blocks ---------------------------------------------------------------------------

/**
 * The model of a run, freshly initialised (He normal × init.scale from stream `init` of the seed), checked against the
 * data's input shape.
 */
export function buildModel(config: RunConfig, data: Pick<RunData, 'inputShape' | 'labels'>): Classifier {
  const { model: m } = config;
  const model = createModel(m.name, {
    numClasses: data.labels.classes,
    inputShape: data.inputShape,
    ...(m.widths ? { widths: m.widths } : {}),
    ...(m.batchNorm !== undefined ? { batchNorm: m.batchNorm } : {}),
    ...(m.firstKernel !== undefined ? { firstKernel: m.firstKernel } : {}),
    ...(m.variant !== undefined ? { variant: m.variant } : {}),
    initScheme: config.init.scheme,
    initScale: config.init.scale,
    rng: new Rng(config.seed, 'init'),
  });
  checkInputFits(model, data.inputShape, config.data.dataset);
  return model;
}

/** One forward pass on a zero example: a shape mismatch fails here, before any training. */
export function checkInputFits(model: Classifier, inputShape: readonly number[], dataset: string): void {
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => tidy(() => void model.call(zeros([1, ...inputShape]))));
  } catch (error) {
    throw new Error(
      `model ${model.architecture} does not fit the inputs of ${dataset} (shape ${formatShape(inputShape)}): ${(error as Error).message}`,
    );
  } finally {
    model.train(wasTraining);
  }
}

export type RunOptimizer = SGD | Adam | AdamW;

export function buildOptimizer(config: RunConfig, model: Classifier): RunOptimizer {
  const o = config.optimizer;
  const params = model.namedParameters();
  const lr = config.schedule.lr;
  switch (o.name) {
    case 'sgd':
      return new SGD(params, { lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay });
    case 'adam':
      return new Adam(params, { lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay });
  }
}

/**
 * Loads pre-trained weights into a freshly initialised model (docs/paper.md §3): the taken tensors
 * (all, or those under `include`; the head is left fresh when `reinitHead`) are copied, then, with
 * `rescale`, scaled to the ℓ2 norms they had at the source run's initialisation (this model's own
 * initial norms for a bare checkpoint file). Every key taken must exist with the same shape.
 */
export function initializeFrom(model: Classifier, config: RunConfig, store: RunStore): void {
  const from = config.init.from!;
  const ownInitNorms = parameterNorms(model);
  let source: Map<string, Tensor>;
  let referenceNorms: Map<string, number>;
  let where: string;
  if (from.run !== undefined) {
    store.requireRun(from.run);
    const dir = store.checkpointDir(from.run);
    const checkpoint = from.step !== undefined ? checkpointAt(dir, from.step, from.run) : latestCheckpoint(dir);
    if (!checkpoint) throw new Error(`init.from.run: run '${from.run}' has no checkpoint yet`);
    source = readCheckpoint(checkpoint.prefix).modelState;
    referenceNorms = readInitNorms(store.runDir(from.run));
    where = `run '${from.run}' step ${checkpoint.step}`;
  } else {
    source = readStateDict(from.checkpoint!).state;
    referenceNorms = ownInitNorms;
    where = from.checkpoint!;
  }
  const own = model.stateDict();
  const headPrefix = `${model.headPath}.`;
  const wanted = (key: string): boolean =>
    (from.include === undefined || from.include.some((prefix) => key === prefix || key.startsWith(`${prefix}.`))) &&
    !(from.reinitHead && key.startsWith(headPrefix));
  const taken = new Map([...own.keys()].filter(wanted).map((key) => [key, source.get(key)!]));
  const missing = [...taken].filter(([, t]) => t === undefined).map(([key]) => key);
  if (missing.length > 0)
    throw new Error(`init.from ${where}: the checkpoint lacks ${missing.join(', ')} of ${model.architecture}`);
  if (taken.size === 0)
    throw new Error(`init.from ${where}: no tensor matches include [${(from.include ?? []).join(', ')}]`);
  try {
    model.loadStateDict(taken, { strict: false });
  } catch (error) {
    throw new Error(`init.from ${where}: ${(error as Error).message}`);
  }
  if (!from.rescale) return;
  // Untaken parameters keep their fresh values: their reference is their current norm (factor 1).
  const reference = new Map(ownInitNorms);
  for (const key of taken.keys()) {
    const norm = referenceNorms.get(key);
    if (norm !== undefined) reference.set(key, norm);
    else if (ownInitNorms.has(key)) throw new Error(`init.from ${where}: no initial norm recorded for '${key}'`);
  }
  rescaleToNorms(model, reference);
}

function dataLocation(options: DataLocation): DataLocation {
  return {
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
  };
}

function totalSteps(config: RunConfig, data: RunData): number {
  if (config.training.iterations !== undefined) return config.training.iterations;
  const n = data.train.n;
  const b = config.training.batchSize;
  const perEpoch = config.training.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  return config.training.epochs * perEpoch;
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (the run exists, or another process holds its lock) or already gone: nothing to tidy.
  }
}

function refuseExisting(store: RunStore, runId: string, force: boolean): void {
  const existing = store.getRun(runId);
  if (!existing || force) return;
  if (existing.status === 'finished')
    throw new Error(`run '${runId}' is finished (step ${existing.step}); pass --force to overwrite it`);
  throw new Error(
    `run '${runId}' already exists (status ${existing.status}, step ${existing.step}); continue it with --resume ${runId}, or pass --force to start it over`,
  );
}

function defaultRunId(config: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${config.model.name}-${config.data.labels.kind}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function datasetLabel(config: RunConfig): string {
  const { dataset, trainSplit, split } = config.data;
  return `${dataset}:${trainSplit}${split ? `/${split.use}` : ''}`;
}

function relativeToRun(store: RunStore, runId: string, path: string): string {
  const dir = store.runDir(runId);
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}

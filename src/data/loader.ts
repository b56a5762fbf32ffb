/**
 * Seeded minibatches, prefetched in a worker thread so the training loop never waits.
 *
 * Order: epoch e visits the examples in the permutation drawn from stream `data/epoch-<e>` of the
 * loader's seed (identity order without shuffling). The loader's whole state is (epoch, position):
 * a checkpoint saves `state()`, and a loader built with `{ state }` continues with exactly the
 * batches the first one would have produced.
 *
 * Prefetch: a worker thread assembles batches from the shared pixel buffer. If the worker cannot
 * start (for example no TypeScript loader when running sources), `worker: 'auto'` falls back to
 * assembling in this thread with the same function, so batches are bit-identical either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Rng } from '../tensor/rng.js';
import type { AssemblySource, AugmentConfig, BatchRequest } from './assemble.js';
import { assembleBatch, NO_AUGMENT } from './assemble.js';
import type { WorkerMessage, WorkerRequest } from './loader-worker.js';
import type { Preprocessor } from './preprocess.js';
import type { Batch, Dataset } from './types.js';
import { identityIndices, sharedFloat32, sharedUint8 } from './types.js';

export interface LoaderState {
  /** Epoch of the next batch to be delivered (0-based). */
  readonly epoch: number;
  /** Position, in that epoch's order, of the next batch's first example. */
  readonly position: number;
}

export interface LoaderOptions {
  readonly dataset: Dataset;
  /** Labels to train on (from `makeLabels`); default the dataset's own labels. */
  readonly labels?: Int32Array;
  readonly batchSize: number;
  /** Seed of the `data` (order) and `augment` streams. */
  readonly seed: number;
  /** Default true. */
  readonly shuffle?: boolean;
  /** Drop each epoch's last incomplete batch. Default false. */
  readonly dropLast?: boolean;
  /** Required for images (standardise with training-split stats, see `Preprocessor`); vectors pass through. */
  readonly preprocessor?: Preprocessor;
  readonly augment?: AugmentConfig;
  /** Batches assembled ahead of the consumer. Default 2. */
  readonly prefetch?: number;
  /** 'auto' (default): worker thread, falling back to this thread if it cannot start. */
  readonly worker?: 'auto' | boolean;
  /** Resume from a saved `state()`. */
  readonly state?: LoaderState;
}

interface Pending {
  readonly request: BatchRequest;
  readonly promise: Promise<Batch>;
}

export class BatchLoader implements AsyncIterable<Batch> {
  readonly n: number;
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  private readonly options: LoaderOptions;
  private readonly source: AssemblySource;
  private readonly prefetch: number;
  private readonly examplesPerEpoch: number;
  private delivered: LoaderState;
  private issued: LoaderState;
  private readonly queue: Pending[] = [];
  private orders = new Map<number, Int32Array>();
  private prefetcher: WorkerPrefetcher | null = null;
  /** Resolves once every worker this loader stopped has exited. */
  private workersStopped: Promise<void> = Promise.resolve();
  private mode: 'worker' | 'thread';
  private closing: Promise<void> | null = null;

  constructor(options: LoaderOptions) {
    const { dataset, batchSize } = options;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new Error(`Batch size must be a positive integer, got ${batchSize}`);
    if (dataset.n < 1) throw new Error(`Dataset ${dataset.spec} (${dataset.split}) is empty`);
    this.options = options;
    this.n = dataset.n;
    this.batchSize = batchSize;
    this.examplesPerEpoch = options.dropLast ? Math.floor(dataset.n / batchSize) * batchSize : dataset.n;
    if (this.examplesPerEpoch === 0)
      throw new Error(`drop-last with batch size ${batchSize} leaves no batch of the ${dataset.n} examples`);
    this.batchesPerEpoch = Math.ceil(this.examplesPerEpoch / batchSize);
    this.prefetch = options.prefetch ?? 2;
    if (!Number.isSafeInteger(this.prefetch) || this.prefetch < 1)
      throw new Error(`prefetch must be ≥ 1, got ${this.prefetch}`);
    this.source = assemblySource(options);
    this.delivered = checkState(options.state ?? { epoch: 0, position: 0 }, this.examplesPerEpoch);
    this.issued = this.delivered;
    this.mode = options.worker === false ? 'thread' : 'worker';
  }

  /** Where the next delivered batch starts; save it to resume. */
  state(): LoaderState {
    return this.delivered;
  }

  /** 'worker' while batches come from the prefetch worker, 'thread' when assembled in this thread. */
  get assembler(): 'worker' | 'thread' {
    return this.mode;
  }

  /** Jumps to `state`, discarding prefetched batches. */
  seek(state: LoaderState): void {
    this.delivered = checkState(state, this.examplesPerEpoch);
    this.issued = this.delivered;
    this.queue.length = 0;
  }

  /** The next batch; after the last batch of an epoch comes the first of the next. */
  async next(): Promise<Batch> {
    if (this.closing) throw new Error('BatchLoader is closed');
    this.fill();
    const pending = this.queue.shift()!;
    this.delivered = this.advance(this.delivered);
    if (this.mode === 'worker') this.fill();
    return pending.promise;
  }

  /** The remaining batches of the current epoch. */
  async *epoch(): AsyncGenerator<Batch> {
    const current = this.delivered.epoch;
    while (this.delivered.epoch === current) yield await this.next();
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch();
  }

  /**
   * Stops the prefetch worker; resolves once it has exited (never rejects). The one way to shut a
   * loader down: call it when done, also after an error (in a `finally`). Calling it again returns
   * the same promise. The loader cannot be used afterwards; batches still owed are rejected.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.queue.length = 0;
    this.stopWorker();
    await this.workersStopped;
  }

  /** Terminates the worker, if one runs; `close` awaits its exit. */
  private stopWorker(): void {
    if (!this.prefetcher) return;
    this.workersStopped = Promise.all([this.workersStopped, this.prefetcher.close()]).then(() => undefined);
    this.prefetcher = null;
  }

  /** The example order of `epoch` (a permutation of 0..n−1 when shuffling). */
  order(epoch: number): Int32Array {
    let order = this.orders.get(epoch);
    if (!order) {
      order =
        this.options.shuffle === false
          ? identityIndices(this.n)
          : new Rng(this.options.seed, `data/epoch-${epoch}`).permutation(this.n);
      // Only the epochs in flight are needed: the current one and the next.
      for (const key of this.orders.keys()) if (key < epoch - 1) this.orders.delete(key);
      this.orders.set(epoch, order);
    }
    return order;
  }

  private fill(): void {
    const wanted = this.mode === 'worker' ? this.prefetch : 1;
    while (this.queue.length < wanted) {
      const { epoch, position } = this.issued;
      const end = Math.min(position + this.batchSize, this.examplesPerEpoch);
      const request: BatchRequest = { epoch, position, indices: this.order(epoch).slice(position, end) };
      const promise = this.assemble(request);
      // A prefetched batch may fail before anyone awaits it (worker crash, close): that must not be
      // an unhandled rejection; the consumer still sees the error when it takes the batch.
      promise.catch(() => undefined);
      this.queue.push({ request, promise });
      this.issued = this.advance(this.issued);
    }
  }

  private assemble(request: BatchRequest): Promise<Batch> {
    if (this.mode === 'worker') {
      try {
        this.prefetcher ??= new WorkerPrefetcher(this.source);
        return this.prefetcher.request(request).catch((error: unknown) => this.recover(error, request));
      } catch (error) {
        return this.recover(error, request);
      }
    }
    return Promise.resolve().then(() => assembleBatch(this.source, request));
  }

  /** A worker that never started is replaced by this thread; a worker that broke while running is an error. */
  private recover(error: unknown, request: BatchRequest): Promise<Batch> {
    const startFailure = error instanceof WorkerStartError;
    if (!startFailure || this.options.worker === true) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.mode === 'worker') {
      this.mode = 'thread';
      this.stopWorker();
    }
    return Promise.resolve().then(() => assembleBatch(this.source, request));
  }

  private advance(state: LoaderState): LoaderState {
    const position = state.position + this.batchSize;
    return position >= this.examplesPerEpoch
      ? { epoch: state.epoch + 1, position: 0 }
      : { epoch: state.epoch, position };
  }
}

function checkState(state: LoaderState, examplesPerEpoch: number): LoaderState {
  const { epoch, position } = state;
  if (
    !Number.isSafeInteger(epoch) ||
    epoch < 0 ||
    !Number.isSafeInteger(position) ||
    position < 0 ||
    position >= examplesPerEpoch
  ) {
    throw new Error(
      `Loader state ${JSON.stringify(state)} is invalid: need epoch ≥ 0 and 0 ≤ position < ${examplesPerEpoch}`,
    );
  }
  return { epoch, position };
}

function assemblySource(options: LoaderOptions): AssemblySource {
  const { dataset } = options;
  const labels = options.labels ?? dataset.labels;
  if (labels === null)
    throw new Error(`Dataset ${dataset.spec} has no labels: pass labels from makeLabels (e.g. random labels)`);
  if (labels.length !== dataset.n)
    throw new Error(`Loader: ${labels.length} labels for ${dataset.n} examples of ${dataset.spec} (${dataset.split})`);
  const augment = options.augment ?? NO_AUGMENT;
  if (!Number.isSafeInteger(augment.cropPad) || augment.cropPad < 0)
    throw new Error(`Augmentation cropPad must be a non-negative integer, got ${augment.cropPad}`);
  if (dataset.kind === 'vector') {
    if (augment.cropPad > 0 || augment.flip)
      throw new Error('Crop and flip augmentation apply to images, not vector data');
    if (options.preprocessor && options.preprocessor.config.mode !== 'none')
      throw new Error('Vector data takes no preprocessing');
    return {
      kind: 'vector',
      shape: dataset.shape,
      data: shared(dataset.values),
      n: dataset.n,
      labels,
      lut: new Float32Array(0),
      augment,
      seed: options.seed,
    };
  }
  if (!options.preprocessor) {
    throw new Error(
      'Loader for images needs a preprocessor, e.g. Preprocessor.fromTrainingSplit(trainSplit) (per-channel standardisation)',
    );
  }
  if (augment.cropPad >= Math.min(dataset.shape[1], dataset.shape[2]))
    throw new Error(`Augmentation cropPad ${augment.cropPad} is not smaller than the image`);
  const lut = options.preprocessor.lut;
  if (lut.length !== dataset.shape[0] * 256)
    throw new Error(`Preprocessor is for ${lut.length / 256} channels, the images have ${dataset.shape[0]}`);
  return {
    kind: 'image',
    shape: dataset.shape,
    data: shared(dataset.pixels),
    n: dataset.n,
    labels,
    lut,
    augment,
    seed: options.seed,
  };
}

/** The same values in a SharedArrayBuffer (the worker reads them without a copy). */
function shared<T extends Uint8Array | Float32Array>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = array instanceof Uint8Array ? sharedUint8(array.length) : sharedFloat32(array.length);
  copy.set(array);
  return copy as T;
}

class WorkerStartError extends Error {
  constructor(cause: unknown) {
    super(`The loader's prefetch worker could not start: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** One worker thread and the requests it owes. */
class WorkerPrefetcher {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (batch: Batch) => void; reject: (error: unknown) => void }>();
  private nextId = 0;
  private ready = false;
  private failure: Error | null = null;

  constructor(source: AssemblySource) {
    try {
      this.worker = startLoaderWorker(source);
    } catch (error) {
      throw new WorkerStartError(error);
    }
    this.worker.unref();
    this.worker.on('message', (message: WorkerMessage) => this.receive(message));
    this.worker.on('error', (error) => this.fail(this.ready ? error : new WorkerStartError(error)));
    this.worker.on('exit', (code) => this.fail(new Error(`The loader's prefetch worker exited (code ${code})`)));
  }

  request(request: BatchRequest): Promise<Batch> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<Batch>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    // Keep the process alive only while a batch is owed.
    if (this.waiting.size === 1) this.worker.ref();
    this.worker.postMessage({ id, ...request } satisfies WorkerRequest);
    return promise;
  }

  /** Terminates the thread; resolves once it has exited. */
  async close(): Promise<void> {
    this.failure ??= new Error('The loader was closed');
    // The idle worker is unref'd, so while we await its termination nothing would keep the event
    // loop alive: a script awaiting close() could end (exit code 13) before the worker is gone.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await this.worker.terminate();
    } finally {
      clearInterval(keepAlive);
    }
  }

  private receive(message: WorkerMessage): void {
    if (message.type === 'ready') {
      this.ready = true;
      return;
    }
    const waiter = this.waiting.get(message.id);
    if (!waiter) return;
    this.settled(message.id);
    if (message.type === 'batch') waiter.resolve(message.batch);
    else waiter.reject(new Error(`Loader worker: ${message.message}`));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, waiter] of [...this.waiting]) {
      this.settled(id);
      waiter.reject(this.failure);
    }
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }
}

/**
 * Starts `loader-worker`: the compiled `.js` next to this file, or, when running TypeScript sources
 * (vitest, tsx), the `.ts` file through tsx's loader registered inside the worker.
 */
function startLoaderWorker(source: AssemblySource): Worker {
  const compiled = new URL('./loader-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData: source });
  const typescript = new URL('./loader-worker.ts', import.meta.url);
  if (!existsSync(fileURLToPath(typescript)))
    throw new Error(`neither ${fileURLToPath(compiled)} nor its .ts source exists`);
  const bootstrap =
    `import(${JSON.stringify(tsxApiUrl())})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(typescript.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: source });
}

/** URL of tsx's ESM API (`tsx/esm/api`, import condition); throws if tsx is not installed. */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const entry = manifest.exports['./esm/api']?.import?.default;
  if (!entry) throw new Error('tsx has no ./esm/api export');
  return pathToFileURL(join(dirname(manifestPath), entry)).href;
}

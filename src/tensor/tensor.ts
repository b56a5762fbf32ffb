/**
 * Tensors: a Tensor is a dense row-major float32 (or int32, for labels) array with a shape, and the
 * functions that create one. Where a new tensor's buffer comes from and when it is disposed is up
 * to the scope it is created in (scope.ts); its gradient comes from the autograd engine
 * (autograd.ts), which ops feed through `recordOp`.
 */
import { getKernels } from '../kernels/index.js';
import { DeviceArray, fill as fillOnDevice, scale as scaleOnDevice } from '../kernels/webgpu/index.js';
import { backward, recordOp, type GradData, type GradFn } from './autograd.js';
import { devicePool, useWebGpu, webgpuRuntime, type Device } from './device.js';
import { bufferPool } from './pool.js';
import { inTidyScope, scopedTensorMark, trackInScope, untracked, type ScopedTensor } from './scope.js';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];

export type GradHook = (grad: Float32Array, tensor: Tensor) => void;

/** What a tensor's values are stored in: a host array (cpu) or a device array (webgpu). */
export type Storage = Float32Array | Int32Array | DeviceArray;

let nextTensorId = 0;

export function shapeSize(shape: Shape): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = { float32: 4, int32: 4 };
const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/** A byte count as error messages write it: `40.0 GB` (powers of 1000, one decimal), `12 B`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  let unit = -1;
  let value = bytes;
  while (value >= 999.95 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/**
 * What a failed allocation throws instead of its `cause` (a RangeError from a typed-array
 * constructor, the native backend's out-of-memory error): which tensor did not fit, and how big it is.
 */
function allocationError(what: string | undefined, dtype: DType, shape: Shape, cause: unknown): Error {
  const bytes = shapeSize(shape) * BYTES_PER_ELEMENT[dtype];
  return new Error(
    `cannot allocate ${what ?? 'a tensor'}, ${dtype} ${formatShape(shape)} = ${formatBytes(bytes)}: out of memory`,
    { cause },
  );
}

/** The buffer of a tensor whose allocation waits for its first use (see persistentTensor). */
const NOT_ALLOCATED = new Float32Array(0);

function checkShape(shape: Shape, where: string): void {
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0)
      throw new Error(`${where}: invalid shape ${formatShape(shape)}: dimensions must be non-negative integers`);
  }
}

export class Tensor implements ScopedTensor {
  readonly id = nextTensorId++;
  readonly shape: Shape;
  readonly size: number;
  readonly dtype: DType;
  /** The tensor whose buffer this one views (reshape, detach), or null if it owns its buffer. */
  readonly base: Tensor | null;
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: GradFn | null = null;
  /** Optional label used in error messages and hooks (e.g. a parameter's state_dict key). */
  name: string | undefined;
  private buffer: Float32Array | Int32Array;
  /** The values when they live on the WebGPU device (then `buffer` is empty), else null. */
  private onDevice: DeviceArray | null = null;
  private fromPool: boolean;
  private disposed = false;
  /** The values are all zero but not written yet (see `zeroLazily`). */
  private zeroPending = false;
  /** The value of every element while the buffer is NOT_ALLOCATED, else null (see persistentTensor). */
  private valueBeforeAllocation: number | null = null;
  private gradHooks: GradHook[] = [];

  constructor(data: Storage, shape: Shape, options: { base?: Tensor | null; fromPool?: boolean; name?: string } = {}) {
    checkShape(shape, options.name ?? 'Tensor');
    const size = shapeSize(shape);
    if (data !== NOT_ALLOCATED && data.length !== size) {
      throw new Error(
        `${options.name ?? 'Tensor'}: data has ${data.length} elements but shape ${formatShape(shape)} needs ${size}`,
      );
    }
    this.shape = Object.freeze([...shape]);
    this.size = size;
    if (data instanceof DeviceArray) {
      this.dtype = data.type === 'i32' ? 'int32' : 'float32';
      this.onDevice = data;
      this.buffer = NOT_ALLOCATED;
    } else {
      this.dtype = data instanceof Int32Array ? 'int32' : 'float32';
      this.buffer = data;
    }
    this.base = options.base ?? null;
    this.fromPool = options.fromPool ?? false;
    this.name = options.name;
    trackInScope(this);
  }

  /** Marks tensors for `tidy`, which finds them in results without importing this class. */
  get [scopedTensorMark](): true {
    return true;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Where the values live: 'cpu' (host memory) or 'webgpu' (device memory, read with `await read()`). */
  get device(): Device {
    return this.onDevice === null ? 'cpu' : 'webgpu';
  }

  /** The device array of a webgpu tensor, with any pending zero fill recorded; throws for cpu tensors. */
  get deviceArray(): DeviceArray {
    this.assertAlive();
    const array = this.onDevice;
    if (array === null) throw new Error(`${this.describe()} is on cpu; a webgpu tensor is needed here`);
    const owner = this.base ?? this;
    if (owner.zeroPending) {
      owner.zeroPending = false;
      fillOnDevice(webgpuRuntime(this.describe()), array, 0);
    }
    return array;
  }

  /** `takeForOverwrite` for a webgpu tensor: its device array when a lazy zero is pending, else null. */
  takeDeviceArrayForOverwrite(): DeviceArray | null {
    const owner = this.base ?? this;
    if (!owner.zeroPending || this.disposed || this.onDevice === null) return null;
    owner.zeroPending = false;
    return this.onDevice;
  }

  /** A host copy of the values (the device's, downloaded once the dispatches recorded before have run). */
  async read(): Promise<Float32Array | Int32Array> {
    if (this.onDevice === null) return this.values().slice();
    const array = this.deviceArray;
    const gpu = webgpuRuntime(this.describe());
    return array.type === 'i32' ? gpu.downloadInt32(array) : gpu.download(array);
  }

  /** A copy of this tensor on `device` (a new tensor, cut from the graph, tracked by the current scope). */
  async to(device: Device): Promise<Tensor> {
    if (device === 'cpu') return new Tensor(await this.read(), this.shape, { name: this.name });
    const gpu = await useWebGpu();
    const label = this.name ?? 'tensor';
    const array = devicePool.acquire(this.size, this.dtype === 'int32' ? 'i32' : 'f32', label);
    if (this.onDevice === null) gpu.writeArray(array, this.values());
    else if (this.dtype === 'float32') scaleOnDevice(gpu, this.deviceArray, 1, array);
    else gpu.writeArray(array, await this.read());
    return new Tensor(array, this.shape, { fromPool: true, name: this.name });
  }

  /**
   * Move this leaf's values (and its gradient's) to `device` in place, keeping its identity, so that
   * modules and optimisers that hold it follow: `Module.to`. The old storage is released.
   */
  async moveTo(device: Device): Promise<void> {
    this.assertAlive();
    if (this.base !== null || this.gradFn !== null)
      throw new Error(`${this.describe()}: only leaf tensors that own their values can move between devices`);
    if (this.device === device) return;
    const moved = await this.to(device);
    if (this.grad) await this.grad.moveTo(device);
    if (this.onDevice !== null) devicePool.release(this.onDevice);
    else if (this.fromPool) bufferPool.release(this.buffer);
    this.onDevice = moved.onDevice;
    this.buffer = moved.buffer;
    this.fromPool = device === 'webgpu';
    this.valueBeforeAllocation = null;
    moved.disposed = true; // its storage is this tensor's now
  }

  /** The float32 values; throws for int32 tensors and for disposed ones. */
  get data(): Float32Array {
    const buffer = this.values();
    if (!(buffer instanceof Float32Array))
      throw new Error(`${this.describe()} is int32; a float32 tensor is needed here`);
    return buffer;
  }

  /** The int32 values; throws for float32 tensors. */
  get ints(): Int32Array {
    const buffer = this.values();
    if (!(buffer instanceof Int32Array))
      throw new Error(`${this.describe()} is float32; an int32 tensor is needed here`);
    return buffer;
  }

  /** A float32 tensor of `value` whose buffer is allocated on its first use: persistentTensor's. */
  static allocatedOnFirstUse(shape: Shape, value: number, name?: string): Tensor {
    const t = new Tensor(NOT_ALLOCATED, shape, { name });
    t.valueBeforeAllocation = value;
    return t;
  }

  /** The buffer, alive and with any pending zero fill done: every read of the values goes through here. */
  private values(): Float32Array | Int32Array {
    this.assertAlive();
    if (this.onDevice !== null)
      throw new Error(
        `${this.describe()} is on webgpu: its values are in device memory; read them with await tensor.read() or copy them with await tensor.to('cpu')`,
      );
    if (this.valueBeforeAllocation !== null) this.allocate(this.valueBeforeAllocation);
    // Views share their base's buffer, so the base keeps the pending-zero state for all of them.
    const owner = this.base ?? this;
    if (owner.zeroPending) {
      owner.zeroPending = false;
      this.buffer.fill(0);
    }
    return this.buffer;
  }

  /**
   * Set every value to zero without writing now: the fill happens on the first read, or never
   * when `takeForOverwrite` hands the buffer to a writer first. Gradients are zeroed this way
   * each step and then overwritten by backward, which saves a pass over every parameter.
   */
  zeroLazily(): void {
    this.assertAlive();
    (this.base ?? this).zeroPending = true;
  }

  /**
   * The buffer of a tensor from `allocatedOnFirstUse`, filled with `value`. (Views are made through
   * `values()`, so such a tensor has none yet.)
   */
  private allocate(value: number): void {
    let data: Float32Array;
    try {
      data = getKernels().allocateFloat32(this.size);
    } catch (cause) {
      throw allocationError(this.name, 'float32', this.shape, cause);
    }
    if (value !== 0) data.fill(value);
    this.buffer = data;
    this.valueBeforeAllocation = null;
  }

  /** Whether a `zeroLazily` fill is still pending (the values read as zero and nothing wrote them since). */
  get isLazilyZero(): boolean {
    return (this.base ?? this).zeroPending;
  }

  /** The float32 buffer for a writer that overwrites every value; null unless a lazy zero is pending. */
  takeForOverwrite(): Float32Array | null {
    const owner = this.base ?? this;
    if (!owner.zeroPending || this.disposed || this.onDevice !== null || !(this.buffer instanceof Float32Array))
      return null;
    owner.zeroPending = false;
    if (this.valueBeforeAllocation !== null) this.allocate(0); // every value is overwritten next
    return this.buffer;
  }

  /** Whether gradient hooks are registered (the engine then hands this tensor its gradient on its own). */
  get hasGradHooks(): boolean {
    return this.gradHooks.length > 0;
  }

  describe(): string {
    return `${this.name ? `tensor '${this.name}'` : 'tensor'} ${formatShape(this.shape)}`;
  }

  assertAlive(): void {
    if (this.disposed)
      throw new Error(
        `${this.describe()} was used after it was disposed (it was created inside a tidy() scope that has ended)`,
      );
  }

  /** A plain JavaScript copy of the values. */
  toArray(): number[] {
    return Array.from(this.values());
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a one-element tensor, got ${formatShape(this.shape)}`);
    return this.values()[0]!;
  }

  /** The same values, another shape; shares the buffer and passes gradients through. */
  reshape(shape: Shape): Tensor {
    const resolved = resolveReshape(this.shape, shape);
    const view = new Tensor(this.storage(), resolved, { base: this.base ?? this, name: this.name });
    return recordOp<GradData>('reshape', view, [this], (g) => [g]);
  }

  /** A view of the same buffer, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage(), this.shape, { base: this.base ?? this, name: this.name });
  }

  /** The host buffer or the device array, whichever holds the values. */
  private storage(): Storage {
    return this.onDevice === null ? this.values() : this.deviceArray;
  }

  /** Make this a leaf that accumulates gradients in `.grad`. */
  requireGrad(flag = true): this {
    if (this.dtype !== 'float32') throw new Error(`${this.describe()}: only float32 tensors can require gradients`);
    this.requiresGrad = flag;
    return this;
  }

  /** Give this leaf a fresh `.grad` of zeros (persistent, named `<name>.grad`) and return it. */
  createGrad(): Tensor {
    const name = this.name ? `${this.name}.grad` : undefined;
    this.grad =
      this.onDevice === null ? persistentTensor(this.shape, 0, name) : persistentOnWebGpu(this.shape, 0, name);
    return this.grad;
  }

  /** Called with this tensor's complete gradient during backward (for activation/gradient probes). */
  registerGradHook(hook: GradHook): () => void {
    this.gradHooks.push(hook);
    return () => {
      this.gradHooks = this.gradHooks.filter((h) => h !== hook);
    };
  }

  runGradHooks(grad: Float32Array | DeviceArray): void {
    if (this.gradHooks.length === 0) return;
    if (grad instanceof DeviceArray)
      throw new Error(`${this.describe()} is on webgpu: gradient hooks read host values and need cpu tensors`);
    for (const hook of this.gradHooks) hook(grad, this);
  }

  /** Return the buffer to the pool. Views and tensors not from the pool only mark themselves dead. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.onDevice !== null) {
      // Device memory is not garbage-collected in time: every device array goes back to the pool.
      if (this.base === null) devicePool.release(this.onDevice);
      this.onDevice = null;
    } else if (this.fromPool && this.base === null) bufferPool.release(this.buffer);
    this.buffer = new Float32Array(0);
    this.valueBeforeAllocation = null;
    this.gradFn = null;
  }

  /** Reverse-mode differentiation from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Float32Array): void {
    backward(this, gradient);
  }

  /** Zero the accumulated gradient in place (lazily: see `zeroLazily`). */
  zeroGrad(): void {
    this.grad?.zeroLazily();
  }
}

function resolveReshape(from: Shape, to: Shape): number[] {
  const size = shapeSize(from);
  const inferred = to.filter((d) => d === -1).length;
  if (inferred > 1)
    throw new Error(`reshape ${formatShape(from)} → ${formatShape(to)}: at most one dimension may be -1`);
  const known = to.reduce((product, d) => (d === -1 ? product : product * d), 1);
  const resolved = to.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (shapeSize(resolved) !== size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape ${formatShape(from)} → ${formatShape(to)}: sizes differ (${size} elements)`);
  }
  return resolved;
}

// --- creation ------------------------------------------------------------------------------

/** A tensor (float32 unless told) whose buffer comes from the pool inside `tidy`; its contents are unspecified. */
export function empty(shape: Shape, name?: string, dtype: DType = 'float32'): Tensor {
  checkShape(shape, name ?? 'empty');
  const size = shapeSize(shape);
  const inScope = inTidyScope();
  let data: Float32Array | Int32Array;
  try {
    if (dtype === 'int32') data = inScope ? bufferPool.acquireInt32(size) : new Int32Array(size);
    else data = inScope ? bufferPool.acquire(size) : new Float32Array(size);
  } catch (cause) {
    throw allocationError(name, dtype, shape, cause);
  }
  return new Tensor(data, shape, { fromPool: inScope, name });
}

/** `empty` on the WebGPU device: a pooled device array whose contents are unspecified. */
export function emptyOnWebGpu(shape: Shape, name?: string, dtype: DType = 'float32'): Tensor {
  checkShape(shape, name ?? 'emptyOnWebGpu');
  const array = devicePool.acquire(shapeSize(shape), dtype === 'int32' ? 'i32' : 'f32', name ?? 'tensor');
  return new Tensor(array, shape, { fromPool: true, name });
}

/** `persistentTensor` on the WebGPU device (gradients and optimizer state of webgpu parameters). */
export function persistentOnWebGpu(shape: Shape, value = 0, name?: string): Tensor {
  return untracked(() => {
    const t = emptyOnWebGpu(shape, name);
    fillOnDevice(webgpuRuntime(t.describe()), t.deviceArray, value);
    return t;
  });
}

/**
 * A tensor of `value` outside every tidy scope, for state that lives as long as its owner:
 * parameters, module buffers, gradients, optimizer state. Its buffer comes from the kernel backend,
 * which natively puts large ones in huge pages (Kernels.allocateFloat32). Not for transient
 * tensors: Node frees such native buffers only when its event loop turns after a collection, so a
 * synchronous loop that keeps allocating them would pile them up.
 *
 * The buffer is allocated on first use (initialisation, for a parameter), not here: a layer creates
 * its parameters before its parent registers it, so only later is the tensor named by its key, and
 * an allocation that does not fit then says which one (`cannot allocate fc2.weight, float32
 * [100000, 100000] = 40.0 GB: out of memory`).
 */
export function persistentTensor(shape: Shape, value = 0, name?: string): Tensor {
  checkShape(shape, name ?? 'persistentTensor');
  return untracked(() => Tensor.allocatedOnFirstUse(shape, value, name));
}

export function zeros(shape: Shape, name?: string): Tensor {
  const t = empty(shape, name);
  t.data.fill(0);
  return t;
}

export function full(shape: Shape, value: number, name?: string): Tensor {
  const t = empty(shape, name);
  t.data.fill(value);
  return t;
}

/**
 * A tensor over a copy of the values (or over `values` itself when it is a Float32Array/Int32Array and copy is false).
 */
export function tensor(
  values: ArrayLike<number> | Float32Array | Int32Array,
  shape?: Shape,
  options: { copy?: boolean; name?: string; dtype?: DType } = {},
): Tensor {
  const resolvedShape = shape ?? [values.length];
  const dtype = options.dtype ?? (values instanceof Int32Array ? 'int32' : 'float32');
  let data: Float32Array | Int32Array;
  if (!options.copy && dtype === 'float32' && values instanceof Float32Array) data = values;
  else if (!options.copy && dtype === 'int32' && values instanceof Int32Array) data = values;
  else data = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
  if (dtype === 'int32') {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isInteger(values[i]!))
        throw new Error(`${options.name ?? 'tensor'}: value ${values[i]} at index ${i} is not an integer`);
    }
  }
  return new Tensor(data, resolvedShape, { name: options.name });
}

/** Int32 label tensor of shape [n]. */
export function labels(values: ArrayLike<number> | Int32Array, name = 'labels'): Tensor {
  return tensor(values, [values.length], { dtype: 'int32', name });
}

/**
 * The WebGPU runtime: arrays in device memory, compiled pipelines, and batches of dispatches.
 *
 * - A `DeviceArray` is a storage buffer of f32 or i32 with its element count. Uploads go into a
 *   buffer mapped at creation; downloads copy into a staging buffer and map it.
 * - Shaders (shader.ts) declare their parameters and storage bindings once. Parameters travel in
 *   a uniform block, never as text in the WGSL: each module is compiled once, and each (shader,
 *   override constants) pair gets one pipeline, cached.
 * - Dispatches are recorded into one command encoder and submitted together by `flush()` (or by
 *   anything that must see their results: a download, a write into an existing array). Each
 *   dispatch takes a 256-byte slot of one uniform buffer, written by a single writeBuffer just
 *   before the submit; a full uniform buffer submits the batch early. Reusing the buffer in the
 *   next batch is safe because the queue runs its operations in order.
 * - Validation and out-of-memory errors are collected per batch with error scopes and thrown by
 *   the next `flush()` or download, naming the batch's kernels.
 */
import { acquireWebGpu, type AdapterDescription, type WebGpuContext } from './device.js';
import { LINEAR_WORKGROUP, PARAM_BLOCK_BYTES, type ElementType, type Shader, type StorageBinding } from './shader.js';

export type { ElementType } from './shader.js';
export type HostArray = Float32Array | Int32Array;

/** Dispatches per batch; each one's parameters take PARAM_BLOCK_BYTES (256, WebGPU's largest
 *  minUniformBufferOffsetAlignment, so the offsets are valid on every adapter). */
const PARAM_SLOTS = 512;

export class DeviceArray {
  constructor(
    readonly buffer: GPUBuffer,
    readonly length: number,
    readonly type: ElementType,
    readonly label: string,
  ) {}

  get byteLength(): number {
    return this.length * 4;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

export interface DispatchSpec {
  readonly shader: Shader;
  readonly arrays: Readonly<Record<string, DeviceArray>>;
  readonly params: Readonly<Record<string, number>>;
  readonly groups: readonly [number, number?, number?];
  /** WGSL override constants (a pipeline is compiled per distinct set). */
  readonly constants?: Readonly<Record<string, number | boolean>>;
}

export class WebGpu {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  private readonly modules = new Map<Shader, GPUShaderModule>();
  /** Per shader, its pipelines by override constants. */
  private readonly pipelines = new Map<Shader, Map<string, GPUComputePipeline>>();
  private readonly paramBuffer: GPUBuffer;
  private readonly paramBytes = new ArrayBuffer(PARAM_BLOCK_BYTES * PARAM_SLOTS);
  private readonly paramView = new DataView(this.paramBytes);
  private encoder: GPUCommandEncoder | null = null;
  private slotsUsed = 0;
  private batchKernels: string[] = [];
  private outstanding: Promise<void>[] = [];
  private firstError: Error | null = null;
  private compiledPipelines = 0;

  constructor(context: WebGpuContext) {
    this.device = context.device;
    this.adapter = context.adapter;
    this.paramBuffer = this.device.createBuffer({
      label: 'randlab kernel parameters',
      size: this.paramBytes.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * The runtime of the process's device (see device.ts for which adapter). One per device: batches
   * pair pushes and pops of the device's error scopes, which two runtimes interleaving would mix up.
   */
  static async acquire(): Promise<WebGpu> {
    const context = await acquireWebGpu();
    let runtime = runtimes.get(context.device);
    if (!runtime) {
      runtime = new WebGpu(context);
      runtimes.set(context.device, runtime);
    }
    return runtime;
  }

  /** How many pipelines have been compiled (one per shader and set of override constants). */
  get pipelineCount(): number {
    return this.compiledPipelines;
  }

  /** A zero-filled array of `length` elements. */
  createArray(length: number, type: ElementType = 'f32', label = 'array'): DeviceArray {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new Error(`webgpu: ${label}: length must be a non-negative integer, got ${length}`);
    const bytes = length * 4;
    const limit = this.adapter.limits.maxStorageBufferBindingSize;
    if (bytes > limit)
      throw new Error(
        `webgpu: ${label}: ${length} ${type} elements (${bytes} bytes) exceed the adapter's maxStorageBufferBindingSize of ${limit} bytes (${this.adapter.description})`,
      );
    // WebGPU zero-initialises buffers; a binding must be at least 4 bytes, hence the floor for empty arrays.
    const buffer = this.device.createBuffer({
      label,
      size: Math.max(4, bytes),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    return new DeviceArray(buffer, length, type, label);
  }

  /** A new device array holding a copy of `data`. */
  upload(data: HostArray, label = 'array'): DeviceArray {
    const type: ElementType = data instanceof Float32Array ? 'f32' : 'i32';
    const array = this.createArray(data.length, type, label);
    this.writeArray(array, data);
    return array;
  }

  /** Overwrites `array` with `data`, after every dispatch recorded so far (program order). */
  writeArray(array: DeviceArray, data: HostArray): void {
    const type: ElementType = data instanceof Float32Array ? 'f32' : 'i32';
    if (data.length !== array.length || type !== array.type)
      throw new Error(
        `webgpu: writing ${data.length} ${type} values into ${array.label}, which holds ${array.length} ${array.type}`,
      );
    if (data.length === 0) return;
    // queue.writeBuffer runs before any command buffer submitted after it: submit what reads the old contents first.
    this.submit();
    this.device.queue.writeBuffer(array.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** A host copy of an f32 array, once every dispatch recorded before has run. */
  async download(array: DeviceArray): Promise<Float32Array> {
    if (array.type !== 'f32') throw new Error(`webgpu: ${array.label} holds ${array.type}, not f32`);
    return new Float32Array(await this.readBack(array));
  }

  /** `download` for i32 arrays. */
  async downloadInt32(array: DeviceArray): Promise<Int32Array> {
    if (array.type !== 'i32') throw new Error(`webgpu: ${array.label} holds ${array.type}, not i32`);
    return new Int32Array(await this.readBack(array));
  }

  private async readBack(array: DeviceArray): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({
      label: `download of ${array.label}`,
      size: Math.max(4, array.byteLength),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      if (array.length > 0) this.commandEncoder().copyBufferToBuffer(array.buffer, 0, staging, 0, array.byteLength);
      await this.flush();
      await staging.mapAsync(GPUMapMode.READ);
      const bytes = staging.getMappedRange().slice(0, array.byteLength);
      staging.unmap();
      return bytes;
    } finally {
      staging.destroy();
    }
  }

  /** Records one dispatch into the current batch. */
  dispatch(spec: DispatchSpec): void {
    const { shader } = spec;
    this.checkGroups(shader.name, spec.groups);
    const bindings = this.storageEntries(spec);
    if (this.slotsUsed === PARAM_SLOTS) this.submit();
    const slot = this.slotsUsed;
    this.writeParams(shader, spec.params, slot * PARAM_BLOCK_BYTES);
    // The encoder before the pipeline: its error scopes then also catch a shader that does not compile.
    const encoder = this.commandEncoder();
    const pipeline = this.pipeline(shader, spec.constants ?? {});
    this.slotsUsed++;
    const bindGroup = this.device.createBindGroup({
      label: shader.name,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        {
          binding: 0,
          resource: { buffer: this.paramBuffer, offset: slot * PARAM_BLOCK_BYTES, size: PARAM_BLOCK_BYTES },
        },
        ...bindings,
      ],
    });
    const pass = encoder.beginComputePass({ label: shader.name });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = spec.groups;
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.batchKernels.push(shader.name);
  }

  /** Workgroup counts for `count` threads of a one-dimensional kernel (see LINEAR_INDEX in shader.ts). */
  linearGroups(count: number): [number, number] {
    const groups = Math.max(1, Math.ceil(count / LINEAR_WORKGROUP));
    const perDimension = this.adapter.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= perDimension) return [groups, 1];
    return [perDimension, Math.ceil(groups / perDimension)];
  }

  /** Submits the recorded dispatches without waiting for them. */
  submit(): void {
    const encoder = this.encoder;
    if (!encoder) return;
    this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramBytes, 0, this.slotsUsed * PARAM_BLOCK_BYTES);
    this.device.queue.submit([encoder.finish()]);
    const kernels = this.batchKernels;
    // Popped in the reverse order of commandEncoder()'s pushes: out-of-memory first, then validation.
    const scopes = [this.device.popErrorScope(), this.device.popErrorScope()];
    this.outstanding.push(
      Promise.all(scopes).then((errors) => {
        const error = errors.find((e) => e !== null);
        if (error && !this.firstError) this.firstError = batchError(kernels, error.message);
      }),
    );
    this.encoder = null;
    this.slotsUsed = 0;
    this.batchKernels = [];
  }

  /** Submits the recorded dispatches and waits until they have run; throws the first error of any batch. */
  async flush(): Promise<void> {
    this.submit();
    const outstanding = this.outstanding;
    this.outstanding = [];
    await Promise.all(outstanding);
    await this.device.queue.onSubmittedWorkDone();
    const error = this.firstError;
    this.firstError = null;
    if (error) throw error;
  }

  private commandEncoder(): GPUCommandEncoder {
    if (this.encoder) return this.encoder;
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.encoder = this.device.createCommandEncoder({ label: 'randlab batch' });
    return this.encoder;
  }

  private checkGroups(kernel: string, groups: DispatchSpec['groups']): void {
    const limit = this.adapter.limits.maxComputeWorkgroupsPerDimension;
    for (const count of groups) {
      if (count !== undefined && (!Number.isSafeInteger(count) || count < 1 || count > limit))
        throw new Error(`webgpu: ${kernel}: ${count} workgroups in one dimension (this adapter allows 1 to ${limit})`);
    }
  }

  /** Bind group entries for the shader's storage arrays, checked for presence, type and aliasing. */
  private storageEntries(spec: DispatchSpec): GPUBindGroupEntry[] {
    const { shader, arrays } = spec;
    const seen = new Map<GPUBuffer, StorageBinding>();
    return shader.storage.map((binding, i) => {
      const array = arrays[binding.name];
      if (!array) throw new Error(`webgpu: ${shader.name}: no array given for '${binding.name}'`);
      if (array.type !== binding.type)
        throw new Error(
          `webgpu: ${shader.name}: '${binding.name}' must hold ${binding.type}, got ${array.label} of ${array.type}`,
        );
      const other = seen.get(array.buffer);
      // WebGPU rejects a writable storage binding that aliases any other binding of the same dispatch.
      if (other && (other.access === 'read_write' || binding.access === 'read_write'))
        throw new Error(
          `webgpu: ${shader.name}: '${other.name}' and '${binding.name}' are the same array (${array.label}), and one is written`,
        );
      seen.set(array.buffer, binding);
      return { binding: i + 1, resource: { buffer: array.buffer } };
    });
  }

  private writeParams(shader: Shader, values: DispatchSpec['params'], offset: number): void {
    shader.params.forEach(([name, type], i) => {
      const value = values[name];
      if (value === undefined || (type !== 'f32' && !Number.isFinite(value)))
        throw new Error(`webgpu: ${shader.name}: parameter '${name}' is ${value}`);
      const at = offset + i * 4;
      if (type === 'f32') this.paramView.setFloat32(at, value, true);
      else if (type === 'i32') this.paramView.setInt32(at, value, true);
      else {
        if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
          throw new Error(`webgpu: ${shader.name}: parameter '${name}' = ${value} does not fit in u32`);
        this.paramView.setUint32(at, value, true);
      }
    });
  }

  private pipeline(shader: Shader, constants: Readonly<Record<string, number | boolean>>): GPUComputePipeline {
    let variants = this.pipelines.get(shader);
    if (!variants) {
      variants = new Map();
      this.pipelines.set(shader, variants);
    }
    const key = JSON.stringify(Object.entries(constants).sort());
    let pipeline = variants.get(key);
    if (!pipeline) {
      let module = this.modules.get(shader);
      if (!module) {
        module = this.device.createShaderModule({ label: shader.name, code: shader.code });
        this.modules.set(shader, module);
      }
      const overrides: Record<string, number> = {};
      for (const [name, value] of Object.entries(constants)) overrides[name] = Number(value);
      pipeline = this.device.createComputePipeline({
        label: shader.name,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants: overrides },
      });
      variants.set(key, pipeline);
      this.compiledPipelines++;
    }
    return pipeline;
  }
}

const runtimes = new WeakMap<GPUDevice, WebGpu>();

function batchError(kernels: readonly string[], message: string): Error {
  const names = [...new Set(kernels)].join(', ');
  return new Error(`webgpu: a batch of ${kernels.length} dispatches (${names}) failed: ${message}`);
}

/**
 * The WebGPU device and runtime: the adapter's description, uploads and downloads, program order
 * between writes and recorded dispatches, batches longer than the parameter buffer, the pipeline
 * cache, and the errors that name what went wrong (a shader that does not compile, an array too
 * large for the adapter, aliased bindings, wrong element types).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireWebGpu, axpy, fill, gemm, releaseWebGpu, scale, WebGpu } from '../src/kernels/webgpu/index.js';
import { defineShader, readWrite } from '../src/kernels/webgpu/shader.js';
import { expectExact, webgpuMissing, webgpuProbe } from './helpers/webgpu.js';

describe.skipIf(webgpuMissing)('WebGPU runtime', () => {
  let gpu: WebGpu;
  beforeAll(async () => {
    gpu = await WebGpu.acquire();
  });
  afterAll(async () => {
    await releaseWebGpu();
  });

  it('describes the adapter it acquired, with the limits the kernels depend on', async () => {
    const { adapter } = await acquireWebGpu();
    expect(adapter.vendor).not.toBe('');
    expect(adapter.description).not.toBe('');
    expect(adapter.source).not.toBe('');
    expect(adapter.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(adapter.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(adapter.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    // The probe and the acquired device see the same adapter.
    expect(webgpuProbe.ok && webgpuProbe.adapter.description).toBe(adapter.description);
    // The device asks for the adapter's maximum binding size, not WebGPU's 128 MiB default.
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBe(adapter.limits.maxStorageBufferBindingSize);
    // One runtime per device: two would interleave their batches' error scopes.
    expect(await WebGpu.acquire()).toBe(gpu);
  });

  it('round-trips float32 and int32 arrays bit for bit, empty ones included', async () => {
    const floats = new Float32Array([1.5, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]);
    expectExact(await gpu.download(gpu.upload(floats)), floats, 'f32 round trip');
    const negativeZero = await gpu.download(gpu.upload(new Float32Array([-0])));
    expect(Object.is(negativeZero[0], -0)).toBe(true);
    const ints = new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 42]);
    expect(Array.from(await gpu.downloadInt32(gpu.upload(ints)))).toEqual(Array.from(ints));
    expect((await gpu.download(gpu.upload(new Float32Array(0)))).length).toBe(0);
    expect(Array.from(await gpu.download(gpu.createArray(5)))).toEqual([0, 0, 0, 0, 0]);
    await expect(gpu.download(gpu.upload(ints))).rejects.toThrow(/holds i32, not f32/);
  });

  it('keeps program order between recorded dispatches and later writes', async () => {
    const x = gpu.upload(new Float32Array([1, 2, 3]), 'x');
    const out = gpu.createArray(3, 'f32', 'out');
    scale(gpu, x, 2, out);
    // Recorded, not yet submitted: the write must not overtake the dispatch that reads the old x.
    gpu.writeArray(x, new Float32Array([10, 20, 30]));
    expect(Array.from(await gpu.download(out))).toEqual([2, 4, 6]);
    scale(gpu, x, 2, out);
    expect(Array.from(await gpu.download(out))).toEqual([20, 40, 60]);
    expect(() => gpu.writeArray(x, new Float32Array(4))).toThrow(/writing 4 f32 values into x, which holds 3 f32/);
  });

  it('runs a batch of more dispatches than the parameter buffer has slots, in order', async () => {
    const y = gpu.createArray(300, 'f32', 'y');
    const x = gpu.upload(new Float32Array(300).fill(1), 'x');
    fill(gpu, y, 0.5);
    // 1200 dispatches, more than twice the 512 parameter slots: two early submits within the batch.
    for (let i = 1; i <= 1200; i++) axpy(gpu, i, x, y);
    expectExact(await gpu.download(y), new Float32Array(300).fill(0.5 + (1200 * 1201) / 2), 'y');
  });

  it('compiles one pipeline per shader and set of override constants', async () => {
    const before = gpu.pipelineCount;
    const a = gpu.upload(new Float32Array([1, 2, 3, 4]));
    const c = gpu.createArray(4);
    const layouts = [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const;
    const runAll = (alpha: number, beta: number): void => {
      for (const [transA, transB] of layouts) gemm(gpu, a, a, c, { m: 2, n: 2, k: 2, transA, transB, alpha, beta });
    };
    runAll(1, 0);
    await gpu.flush();
    // This runtime has not run gemm before: four layouts, four pipelines.
    expect(gpu.pipelineCount - before).toBe(4);
    runAll(2, 1);
    runAll(-1, 0.5);
    await gpu.flush();
    expect(gpu.pipelineCount - before).toBe(4);
  });

  it('keeps shaders of the same name apart', async () => {
    const writes = (value: number) =>
      defineShader(
        'sameName',
        [['count', 'u32']],
        [readWrite('x')],
        `@compute @workgroup_size(1) fn main() { x[0] = f32(p.count) * ${value}.0; }`,
      );
    const [two, three] = [writes(2), writes(3)];
    const x = gpu.createArray(1);
    gpu.dispatch({ shader: two, arrays: { x }, params: { count: 5 }, groups: [1] });
    expect(Array.from(await gpu.download(x))).toEqual([10]);
    gpu.dispatch({ shader: three, arrays: { x }, params: { count: 5 }, groups: [1] });
    expect(Array.from(await gpu.download(x))).toEqual([15]);
  });

  it('reports a shader that does not compile with the batch it was in, and carries on', async () => {
    const broken = defineShader(
      'brokenOnPurpose',
      [['count', 'u32']],
      [readWrite('x')],
      '@compute @workgroup_size(1) fn main() { x[0] = f32(p.count) + undefinedName; }',
    );
    const x = gpu.createArray(1, 'f32', 'x');
    gpu.dispatch({ shader: broken, arrays: { x }, params: { count: 1 }, groups: [1] });
    await expect(gpu.flush()).rejects.toThrow(
      /webgpu: a batch of 1 dispatches \(brokenOnPurpose\) failed: .*undefinedName/s,
    );
    fill(gpu, x, 7);
    expect(Array.from(await gpu.download(x))).toEqual([7]);
  });

  it('refuses arrays larger than the adapter binds, naming the array and the limit', () => {
    const limit = gpu.adapter.limits.maxStorageBufferBindingSize;
    const length = Math.floor(limit / 4) + 1;
    expect(() => gpu.createArray(length, 'f32', 'conv1 weights')).toThrow(
      new RegExp(
        `webgpu: conv1 weights: ${length} f32 elements \\(${length * 4} bytes\\) exceed the adapter's maxStorageBufferBindingSize of ${limit} bytes`,
      ),
    );
    expect(() => gpu.createArray(-1)).toThrow(/length must be a non-negative integer, got -1/);
  });

  it('checks element types and missing arrays before recording a dispatch', () => {
    const ints = gpu.createArray(4, 'i32', 'labels');
    expect(() => fill(gpu, ints, 1)).toThrow(/webgpu: fill: 'x' must hold f32, got labels of i32/);
    const shader = defineShader(
      'needsY',
      [['count', 'u32']],
      [readWrite('y')],
      '@compute @workgroup_size(1) fn main() {}',
    );
    expect(() => gpu.dispatch({ shader, arrays: {}, params: { count: 1 }, groups: [1] })).toThrow(
      /webgpu: needsY: no array given for 'y'/,
    );
    expect(() => gpu.dispatch({ shader, arrays: { y: gpu.createArray(1) }, params: {}, groups: [1] })).toThrow(
      /webgpu: needsY: parameter 'count' is undefined/,
    );
    expect(() =>
      gpu.dispatch({ shader, arrays: { y: gpu.createArray(1) }, params: { count: 1 }, groups: [70_000] }),
    ).toThrow(/webgpu: needsY: 70000 workgroups in one dimension/);
  });

  it('acquires a working device again after releasing one', async () => {
    await releaseWebGpu();
    const fresh = await WebGpu.acquire();
    expect(fresh).not.toBe(gpu);
    gpu = fresh;
    const x = gpu.upload(new Float32Array([1, 2]));
    const out = gpu.createArray(2);
    scale(gpu, x, 3, out);
    expect(Array.from(await gpu.download(out))).toEqual([3, 6]);
  });
});

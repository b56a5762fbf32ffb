/**
 * The WebGPU adapter and device, acquired once per process through Dawn's Node binding (the npm
 * package `webgpu`, whose binary ships inside the package).
 *
 * Which adapter: first whatever the system's drivers offer (a real GPU through Vulkan, Metal or
 * D3D12). Only when that finds none, VK_ICD_FILENAMES is unset and Debian's chromium-common has
 * installed SwiftShader's Vulkan driver, a second Dawn instance is created with VK_ICD_FILENAMES
 * pointing at it. Falling back automatically (rather than asking the user to set the variable)
 * makes `npm test` and `randlab devices` work the same on a developer's laptop as in CI; trying
 * the system first means a machine with a GPU never ends up on the software renderer. The
 * SwiftShader adapter reports itself as a fallback adapter, and `describeAdapter` says how it was
 * found, so nothing downstream can mistake it for a GPU.
 */
import { existsSync } from 'node:fs';

/** Where Debian's chromium-common puts SwiftShader's Vulkan ICD manifest. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The Vulkan loader Dawn opens on Linux (Debian: libvulkan1). */
const VULKAN_LOADER_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];

/** The limits the kernels depend on. */
export interface WebGpuLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly minUniformBufferOffsetAlignment: number;
}

export interface AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** True for software adapters such as SwiftShader. */
  readonly isFallbackAdapter: boolean;
  /** How the adapter was found: the system's drivers, or SwiftShader chosen by randlab. */
  readonly source: string;
  readonly limits: WebGpuLimits;
}

export interface WebGpuContext {
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  /** Dawn's instance, held so that it lives as long as the device. */
  readonly instance: GPU;
}

type WebGpuModule = typeof import('webgpu');

/** One way of looking for an adapter, and what it found. */
interface Attempt {
  readonly what: string;
  readonly adapter: GPUAdapter | null;
  /** The Dawn instance: it must stay referenced while its adapter and device are in use. */
  readonly instance: GPU;
}

const LIMIT_NAMES: readonly (keyof WebGpuLimits)[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'minUniformBufferOffsetAlignment',
];

/** Limits requested at the adapter's maximum: WebGPU's defaults (128 MiB bindings) are too small for big layers. */
const RAISED_LIMITS: readonly (keyof WebGpuLimits)[] = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
];

async function loadDawn(): Promise<WebGpuModule> {
  try {
    const dawn = await import('webgpu');
    // The GPUBufferUsage, GPUMapMode, … constants are globals in a browser; Dawn's binding hands them over.
    for (const [name, value] of Object.entries(dawn.globals)) {
      if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    }
    return dawn;
  } catch (error) {
    throw new Error(
      `no WebGPU: the 'webgpu' package (Dawn's Node binding) did not load on ${process.platform}-${process.arch}: ${(error as Error).message}`,
    );
  }
}

async function requestAdapter(dawn: WebGpuModule, what: string): Promise<Attempt> {
  const instance = dawn.create([]);
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  return { what, adapter, instance };
}

/** The system's adapter, else SwiftShader's when it is installed and VK_ICD_FILENAMES is unset. */
async function findAdapter(dawn: WebGpuModule): Promise<{ attempts: Attempt[]; found: Attempt | null }> {
  const attempts: Attempt[] = [];
  const icd = process.env.VK_ICD_FILENAMES;
  const system = await requestAdapter(
    dawn,
    icd === undefined || icd === '' ? "the system's drivers" : `VK_ICD_FILENAMES=${icd}`,
  );
  attempts.push(system);
  if (system.adapter) return { attempts, found: system };
  if ((icd === undefined || icd === '') && process.platform === 'linux' && existsSync(SWIFTSHADER_ICD)) {
    // The Vulkan loader reads the variable when Dawn creates its Vulkan instance, i.e. during requestAdapter.
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    try {
      const swiftshader = await requestAdapter(
        dawn,
        `SwiftShader (VK_ICD_FILENAMES=${SWIFTSHADER_ICD}, set by randlab)`,
      );
      attempts.push(swiftshader);
      if (swiftshader.adapter) return { attempts, found: swiftshader };
    } finally {
      delete process.env.VK_ICD_FILENAMES;
    }
  }
  return { attempts, found: null };
}

/** What to do about a missing adapter on this platform. */
function adapterHint(): string {
  if (process.platform !== 'linux')
    return 'Dawn uses Metal on macOS and D3D12 on Windows: update the graphics driver, or run on a machine with a GPU';
  const hints: string[] = [];
  if (!VULKAN_LOADER_PATHS.some((path) => existsSync(path)))
    hints.push('the Vulkan loader libvulkan.so.1 is missing (Debian: apt-get install libvulkan1)');
  if (existsSync(SWIFTSHADER_ICD)) {
    if (process.env.VK_ICD_FILENAMES)
      hints.push(`SwiftShader is at ${SWIFTSHADER_ICD}; unset VK_ICD_FILENAMES or point it there`);
  } else {
    hints.push(
      `without a GPU, install SwiftShader's Vulkan driver (Debian: apt-get install chromium-common, which puts it at ${SWIFTSHADER_ICD}; randlab then uses it when no GPU is found)`,
    );
  }
  hints.push("with a GPU, install its vendor's Vulkan driver");
  return hints.join('; ');
}

function noAdapterError(attempts: readonly Attempt[]): Error {
  const tried = attempts.map((attempt) => attempt.what).join(', then ');
  return new Error(`no WebGPU adapter: Dawn found none through ${tried}. ${adapterHint()}`);
}

export function describeLimits(limits: GPUSupportedLimits): WebGpuLimits {
  const out: Record<string, number> = {};
  for (const name of LIMIT_NAMES) out[name] = limits[name];
  return out as unknown as WebGpuLimits;
}

function describeAdapter(adapter: GPUAdapter, source: string): AdapterDescription {
  const { info } = adapter;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter,
    source,
    limits: describeLimits(adapter.limits),
  };
}

async function openDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits, label: 'randlab' });
  void device.lost.then((info) => {
    // destroy() on purpose is not news; anything else (driver reset, out of memory) is.
    if (info.reason !== 'destroyed') console.warn(`randlab: the WebGPU device was lost: ${info.message}`);
  });
  return device;
}

let acquired: Promise<WebGpuContext> | null = null;

/** The process's WebGPU device, acquired on first use; rejects with what was tried and how to get an adapter. */
export function acquireWebGpu(): Promise<WebGpuContext> {
  acquired ??= (async () => {
    const dawn = await loadDawn();
    const { attempts, found } = await findAdapter(dawn);
    if (!found?.adapter) throw noAdapterError(attempts);
    const adapter = describeAdapter(found.adapter, found.what);
    return { device: await openDevice(found.adapter), adapter, instance: found.instance };
  })();
  // A failed attempt is not cached: a later call (after the user fixed the driver) tries again.
  acquired.catch(() => {
    acquired = null;
  });
  return acquired;
}

/** Destroys the process's device (tests, and `randlab devices`, which must not leave Dawn running). */
export async function releaseWebGpu(): Promise<void> {
  const pending = acquired;
  acquired = null;
  if (!pending) return;
  try {
    (await pending).device.destroy();
  } catch {
    // Acquiring failed: there is nothing to release.
  }
}

export type WebGpuProbe =
  { readonly ok: true; readonly adapter: AdapterDescription } | { readonly ok: false; readonly reason: string };

/** Whether WebGPU is usable here, without keeping a device: for `randlab devices` and the test setup. */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  try {
    const dawn = await loadDawn();
    const { attempts, found } = await findAdapter(dawn);
    if (!found?.adapter) return { ok: false, reason: noAdapterError(attempts).message };
    return { ok: true, adapter: describeAdapter(found.adapter, found.what) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * Loader for the native C++ kernels (`native/`, built by node-gyp into build/Release;
 * `RANDLAB_NATIVE_PATH` points it at another build of the addon).
 *
 * Each native export takes exactly the arguments of the matching `Kernels` method, so the
 * backend is the addon's functions under the interface's names. A kernel the addon does not
 * export falls back to the TypeScript reference; `nativeCoverage()` says which ones are native.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelName, Kernels } from './interface.js';
import { referenceKernels } from './reference/index.js';

const KERNEL_NAMES = Object.keys(referenceKernels).filter((key) => key !== 'name') as KernelName[];

type Addon = Partial<Record<KernelName, (...args: unknown[]) => unknown>> & Record<string, unknown>;

/** build/Release sits two folders above this file both in src/kernels and in dist/kernels. */
function addonPath(): string {
  const override = process.env.RANDLAB_NATIVE_PATH;
  if (override !== undefined && override !== '') return resolve(override);
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'build', 'Release', 'randlab_native.node');
}

let cached: { kernels: Kernels | null; reason: string; addon: Addon | null } | null = null;

function loadAddon(): { addon: Addon | null; reason: string } {
  const path = addonPath();
  if (!existsSync(path))
    return { addon: null, reason: `${path} does not exist (npm ci builds it when a C++ compiler is available)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as Addon, reason: '' };
  } catch (error) {
    return { addon: null, reason: `loading ${path} failed: ${(error as Error).message}` };
  }
}

export function loadNativeKernels(): { kernels: Kernels | null; reason: string; addon: Addon | null } {
  if (cached) return cached;
  const { addon, reason } = loadAddon();
  if (!addon) {
    cached = { kernels: null, reason, addon: null };
    return cached;
  }
  const kernels: Record<string, unknown> = { name: 'native' };
  for (const kernel of KERNEL_NAMES) {
    const fn = addon[kernel];
    kernels[kernel] = typeof fn === 'function' ? fn : referenceKernels[kernel].bind(referenceKernels);
  }
  cached = { kernels: kernels as unknown as Kernels, reason: '', addon };
  return cached;
}

/** Which kernels the addon implements natively, and which fall back to TypeScript. */
export function nativeCoverage(): { native: KernelName[]; fallback: KernelName[] } {
  const { addon } = loadNativeKernels();
  const native = KERNEL_NAMES.filter((k) => typeof addon?.[k] === 'function');
  return { native, fallback: KERNEL_NAMES.filter((k) => !native.includes(k)) };
}

/** Extra functions of the addon that are not kernels (simdLevel, threadCount, …), if loaded. */
export function nativeAddon(): Addon | null {
  return loadNativeKernels().addon;
}

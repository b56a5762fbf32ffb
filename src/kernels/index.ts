/**
 * Which kernel backend the engine uses.
 *
 * Default: the native addon when it was built, else the TypeScript reference with one warning.
 * `RANDLAB_KERNELS=ts|native` forces either (native fails loudly when the addon is missing).
 */
import type { BackendName, Kernels } from './interface.js';
import { loadNativeKernels } from './native.js';
import { referenceKernels } from './reference/index.js';

export type { BackendName, Kernels } from './interface.js';
export { referenceKernels } from './reference/index.js';

let active: Kernels | null = null;

function selectDefaultKernels(): Kernels {
  const requested = process.env.RANDLAB_KERNELS;
  if (requested !== undefined && requested !== 'ts' && requested !== 'native') {
    throw new Error(`RANDLAB_KERNELS must be 'ts' or 'native', got '${requested}'`);
  }
  if (requested === 'ts') return referenceKernels;
  const native = loadNativeKernels();
  if (native.kernels) return native.kernels;
  if (requested === 'native')
    throw new Error(`RANDLAB_KERNELS=native but the native kernels are unavailable: ${native.reason}`);
  console.warn(
    `randlab: native kernels unavailable (${native.reason}); using the TypeScript kernels, which are much slower`,
  );
  return referenceKernels;
}

/** The active backend (chosen on first use). */
export function getKernels(): Kernels {
  active ??= selectDefaultKernels();
  return active;
}

/** Switch backend, e.g. in tests that compare them. Returns the previous one. */
export function setKernels(choice: Kernels | BackendName): Kernels {
  const previous = getKernels();
  if (typeof choice !== 'string') active = choice;
  else if (choice === 'ts') active = referenceKernels;
  else {
    const native = loadNativeKernels();
    if (!native.kernels) throw new Error(`native kernels are unavailable: ${native.reason}`);
    active = native.kernels;
  }
  return previous;
}

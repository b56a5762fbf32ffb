/**
 * Which implementation the float64 linear algebra uses: the native addon (`native/src/linalg_*.cc`)
 * when it is built and exports the routines, else TypeScript (ml-matrix for the decompositions).
 * `RANDLAB_KERNELS=ts` forces TypeScript here as it does for the training kernels.
 */
import type { GemmParams } from '../kernels/interface.js';
import { nativeAddon } from '../kernels/native.js';

export type LinalgBackend = 'native' | 'ts';

/**
 * The addon's linear-algebra exports: native/src/linalg_eigen.cc, linalg_matrix.cc and
 * linalg_orthogonal.cc, each the native form of the file of this folder with the same name.
 */
export interface NativeLinalg {
  symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array };
  /** C = alpha · op(A) · op(B) + beta · C, the float32 `Kernels.gemm` contract in float64. */
  gemmF64(a: Float64Array, b: Float64Array, c: Float64Array, p: GemmParams): void;
  orthogonalFactor(a: Float64Array, n: number): Float64Array;
}

let cached: NativeLinalg | null | undefined;

/** The native routines, or null when the addon is missing, lacks them, or RANDLAB_KERNELS=ts. */
export function nativeLinalg(): NativeLinalg | null {
  if (cached !== undefined) return cached;
  const addon = process.env.RANDLAB_KERNELS === 'ts' ? null : nativeAddon();
  const symmetricEigen = addon?.symmetricEigen;
  const gemmF64 = addon?.gemmF64;
  const orthogonalFactor = addon?.orthogonalFactor;
  cached =
    typeof symmetricEigen === 'function' && typeof gemmF64 === 'function' && typeof orthogonalFactor === 'function'
      ? {
          symmetricEigen: symmetricEigen as NativeLinalg['symmetricEigen'],
          gemmF64: gemmF64 as NativeLinalg['gemmF64'],
          orthogonalFactor: orthogonalFactor as NativeLinalg['orthogonalFactor'],
        }
      : null;
  return cached;
}

/** The backend a call uses: the requested one (native fails loudly when unavailable) or the default. */
export function resolveLinalg(requested?: LinalgBackend): NativeLinalg | null {
  if (requested === 'ts') return null;
  const native = nativeLinalg();
  if (requested === 'native' && !native) {
    throw new Error(
      'native linear algebra is unavailable: build the addon (npx node-gyp rebuild) or unset RANDLAB_KERNELS=ts',
    );
  }
  return native;
}

export function defaultLinalgBackend(): LinalgBackend {
  return nativeLinalg() ? 'native' : 'ts';
}

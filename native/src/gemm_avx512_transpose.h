// Implements part of src/kernels/reference/gemm.ts (gemm): a packing helper, also used by conv2d_im2col_avx512.cc.
//
// A 16×16 in-register transpose for the AVX-512 packers (GEMM operands stored the other way
// round, conv columns read pixel-major). Include only from files compiled for x86-64.
#pragma once
#include "simd_targets.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace randlab {

// GCC 12 flags the deliberately undefined pass-through operand of _mm512_unpacklo_ps,
// _mm512_unpackhi_ps and _mm512_shuffle_f32x4 as maybe-uninitialized wherever this function is
// inlined (a false positive: the operand is ignored under a full mask). Silenced for this function only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// Transposes the 16×16 block held in r[0..15] (rows) in place, so r[j] holds column j:
// 2×2 blocks of floats by unpack, then 4×4 by shuffle, then 8×8 and 16×16 by 128-bit lane moves.
RANDLAB_AVX512 inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
  }
}
#pragma GCC diagnostic pop

}  // namespace randlab

#endif

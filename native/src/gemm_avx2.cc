// Implements part of src/kernels/reference/gemm.ts (gemm).
//
// AVX2 + FMA GEMM micro-kernel (8 floats per register, 16 registers): the classic 6×16 tile,
// 12 accumulators + 2 B vectors + 1 broadcast A value.
#include "gemm_kernels.h"
#include "simd_targets.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace randlab {
namespace {

constexpr int kMr = 6;
constexpr int kNv = 2;
constexpr int kNr = kNv * 8;

RANDLAB_AVX2 void microKernelAvx2(std::int64_t kc, const float* __restrict ap, const float* __restrict bp,
                                  float* __restrict c, std::int64_t ldc, float alpha, float beta) {
  __m256 acc[kMr][kNv];
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) acc[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);

#pragma GCC unroll 4
  for (std::int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(bp);
    const __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i) {
      const __m256 a = _mm256_broadcast_ss(ap + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
    ap += kMr;
    bp += kNr;
  }

  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) _mm256_storeu_ps(c + i * ldc + v * 8, _mm256_mul_ps(va, acc[i][v]));
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) {
        float* cv = c + i * ldc + v * 8;
        _mm256_storeu_ps(cv, _mm256_fmadd_ps(va, acc[i][v], _mm256_mul_ps(vb, _mm256_loadu_ps(cv))));
      }
  }
}

}  // namespace

const GemmKernel* avx2GemmKernel() {
  // kc·16 floats of B (16 KiB) stay in L1 while MC×KC of A (144 KiB) streams from L2.
  static const GemmKernel kernel{"avx2-6x16",      kMr,     kNr,     256,     144,     4096,
                                 &microKernelAvx2, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &kernel;
}

}  // namespace randlab

#else

namespace randlab {
const GemmKernel* avx2GemmKernel() { return nullptr; }
}  // namespace randlab

#endif

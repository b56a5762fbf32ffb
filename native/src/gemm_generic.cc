// Implements part of src/kernels/reference/gemm.ts (gemm).
//
// Portable GEMM micro-kernel for CPUs without AVX2 (and for arm64): 4-float vectors through the
// GCC/Clang vector extension, which compiles to SSE2 on x86-64 and NEON on arm64. The 4×8 tile
// keeps its 8 accumulators, 2 B vectors and a broadcast within SSE2's 16 registers; plain arrays
// instead get auto-vectorised across rows with shuffles and spilled.
#include <cstring>

#include "gemm_kernels.h"

namespace randlab {
namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

typedef float Vec4 __attribute__((vector_size(16)));

inline Vec4 load4(const float* p) {
  Vec4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store4(float* p, Vec4 v) { std::memcpy(p, &v, sizeof v); }

void microKernelGeneric(std::int64_t kc, const float* __restrict ap, const float* __restrict bp, float* __restrict c,
                        std::int64_t ldc, float alpha, float beta) {
  Vec4 acc[kMr][2] = {};
  for (std::int64_t p = 0; p < kc; ++p) {
    const Vec4 b0 = load4(bp), b1 = load4(bp + 4);
    for (int i = 0; i < kMr; ++i) {
      const Vec4 a = {ap[i], ap[i], ap[i], ap[i]};
      acc[i][0] += a * b0;
      acc[i][1] += a * b1;
    }
    ap += kMr;
    bp += kNr;
  }
  const Vec4 va = {alpha, alpha, alpha, alpha};
  for (int i = 0; i < kMr; ++i) {
    float* row = c + i * ldc;
    for (int v = 0; v < 2; ++v) {
      Vec4 result = va * acc[i][v];
      if (beta != 0.0f) result += Vec4{beta, beta, beta, beta} * load4(row + 4 * v);
      store4(row + 4 * v, result);
    }
  }
}

}  // namespace

const GemmKernel* genericGemmKernel() {
  static const GemmKernel kernel{"generic-4x8",       kMr,     kNr,     256,     128,     4096,
                                 &microKernelGeneric, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &kernel;
}

}  // namespace randlab

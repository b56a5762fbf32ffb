// AVX-512 GEMM micro-kernel (16 floats per register, 32 registers).
#include "gemm_kernels.h"
#include "gemm_avx512_transpose.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace randlab {
namespace {

// MR rows × NV·16 columns of C held in MR·NV accumulators. Per step p: NV loads of B and MR
// broadcasts of A feed MR·NV independent FMAs, enough to cover the FMA latency on both pipes.
template <int MR, int NV>
RANDLAB_AVX512 void microKernelAvx512(std::int64_t kc, const float* __restrict ap, const float* __restrict bp,
                                      float* __restrict c, std::int64_t ldc, float alpha, float beta) {
  constexpr int NR = NV * 16;
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

  // The C tile is touched only after the k loop; start fetching it now.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);

#pragma GCC unroll 4
  for (std::int64_t p = 0; p < kc; ++p) {
    __m512 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(bp + v * 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
    }
    ap += MR;
    bp += NR;
  }

  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + i * ldc + v * 16, _mm512_mul_ps(va, acc[i][v]));
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* cv = c + i * ldc + v * 16;
        _mm512_storeu_ps(cv, _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, _mm512_loadu_ps(cv))));
      }
  }
}

// Packs B stored [n, k] (op(B) = Bᵀ) into NR-column panels: 16 rows of the stored matrix are
// loaded 16 floats at a time and transposed in registers, instead of 256 strided scalar loads.
template <int NR>
RANDLAB_AVX512 void packBTransposedAvx512(const float* b, std::int64_t ldb, std::int64_t p0, std::int64_t kc,
                                          std::int64_t j0, std::int64_t nc, float* out) {
  for (std::int64_t jp = 0; jp < nc; jp += NR) {
    float* panel = out + jp * kc;  // panel jp/NR starts at (jp/NR)·kc·NR
    for (int jb = 0; jb < NR; jb += 16) {
      const std::int64_t rows = nc - jp - jb;  // valid stored rows (= op(B) columns) in this 16-group
      const __mmask16 rowMask = rows >= 16 ? 0xffff : rows <= 0 ? 0 : static_cast<__mmask16>((1u << rows) - 1);
      const float* src[16];
      for (int r = 0; r < 16; ++r) src[r] = b + (j0 + jp + jb + (r < rows ? r : 0)) * ldb + p0;
      std::int64_t p = 0;
      for (; p + 16 <= kc; p += 16) {
        __m512 r[16];
        for (int q = 0; q < 16; ++q)
          r[q] = (rowMask >> q) & 1 ? _mm512_loadu_ps(src[q] + p) : _mm512_setzero_ps();
        transpose16x16(r);
        for (int q = 0; q < 16; ++q) _mm512_store_ps(panel + (p + q) * NR + jb, r[q]);
      }
      if (p < kc) {
        const __mmask16 colMask = static_cast<__mmask16>((1u << (kc - p)) - 1);
        __m512 r[16];
        for (int q = 0; q < 16; ++q)
          r[q] = (rowMask >> q) & 1 ? _mm512_maskz_loadu_ps(colMask, src[q] + p) : _mm512_setzero_ps();
        transpose16x16(r);
        for (int q = 0; p + q < kc; ++q) _mm512_store_ps(panel + (p + q) * NR + jb, r[q]);
      }
    }
  }
}

// Packs A stored [m, k] into MR-row panels: 16 rows (16/MR whole panels) are loaded 16 floats at a
// time and transposed in registers; each transposed column holds step p of every panel in the
// group, written to its panel with a masked store.
template <int MR>
RANDLAB_AVX512 void packANotTransposedAvx512(const float* a, std::int64_t lda, std::int64_t i0, std::int64_t mc,
                                             std::int64_t p0, std::int64_t kc, float* out) {
  constexpr int kPanelsPerGroup = 16 / MR;
  constexpr int kRowsPerGroup = kPanelsPerGroup * MR;
  for (std::int64_t ip = 0; ip < mc; ip += kRowsPerGroup) {
    const std::int64_t rows = mc - ip < kRowsPerGroup ? mc - ip : kRowsPerGroup;
    const int panels = static_cast<int>((rows + MR - 1) / MR);
    const float* src[16];
    for (int r = 0; r < 16; ++r) src[r] = a + (i0 + ip + (r < rows ? r : 0)) * lda + p0;
    float* base[kPanelsPerGroup];  // panel t shifted back by t·MR, so lane t·MR + i lands on row i
    __mmask16 lanes[kPanelsPerGroup];
    for (int t = 0; t < kPanelsPerGroup; ++t) {
      base[t] = out + (ip + t * MR) * kc - t * MR;
      lanes[t] = static_cast<__mmask16>(((1u << MR) - 1) << (t * MR));
    }
    for (std::int64_t p = 0; p < kc; p += 16) {
      const std::int64_t steps = kc - p < 16 ? kc - p : 16;
      const __mmask16 colMask = steps == 16 ? 0xffff : static_cast<__mmask16>((1u << steps) - 1);
      __m512 r[16];
      for (int q = 0; q < 16; ++q) r[q] = q < rows ? _mm512_maskz_loadu_ps(colMask, src[q] + p) : _mm512_setzero_ps();
      transpose16x16(r);
      for (int q = 0; q < steps; ++q)
        for (int t = 0; t < panels; ++t) _mm512_mask_storeu_ps(base[t] + (p + q) * MR, lanes[t], r[q]);
    }
  }
}

}  // namespace

const GemmKernel* avx512GemmKernel() {
  // 8×48: 24 accumulators + 3 B vectors + 1 broadcast of the 32 registers; per step 3 loads and 8
  // broadcasts feed 24 FMAs. Measured against 14×32, 12×32 and 6×64 on this EPYC (Zen 5) it was
  // as fast on square products and faster on the conv and MLP shapes, whose m (channels, batch)
  // is a multiple of 8. KC = 256 (balanced, see gemm.cc) keeps a 48 KiB B panel in L1/L2,
  // MC×KC of A (144 KiB) in L2, and KC×NC of B in L3.
  static const GemmKernel kernel{"avx512-8x48", 8, 48, 256, 144, 4080, &microKernelAvx512<8, 3>,
                                 &packBTransposedAvx512<48>, &packANotTransposedAvx512<8>};
  return &kernel;
}

}  // namespace randlab

#else

namespace randlab {
const GemmKernel* avx512GemmKernel() { return nullptr; }
}  // namespace randlab

#endif

// Implements part of src/kernels/reference/gemm.ts (gemm).
//
// AVX-512 GEMM micro-kernel (16 floats per register, 32 registers).
#include "gemm_avx512_transpose.h"
#include "gemm_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace randlab {
namespace {

// C = alpha · acc + beta · C for an MR × NV·16 tile (C not read when beta == 0).
template <int MR, int NV>
RANDLAB_AVX512 inline void storeTile(const __m512 (&acc)[MR][NV], float* __restrict c, std::int64_t ldc, float alpha,
                                     float beta) {
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

// One step p of the tile: NV loads of B and MR broadcasts of A (a(i) = A(i, p) in every lane) feed MR·NV
// independent FMAs, enough to cover the FMA latency on both pipes.
template <int MR, int NV, typename ReadA>
RANDLAB_AVX512 inline void tileStep(__m512 (&acc)[MR][NV], const float* __restrict bp, ReadA a) {
  __m512 b[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(bp + v * 16);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const __m512 ai = a(i);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, b[v], acc[i][v]);
  }
}

template <int MR, int NV>
RANDLAB_AVX512 inline void zeroTile(__m512 (&acc)[MR][NV]) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
}

// `steps` steps of the tile from packed panels, advancing ap and bp past them.
template <int MR, int NV>
RANDLAB_AVX512 inline void packedSteps(__m512 (&acc)[MR][NV], const float* __restrict& ap, const float* __restrict& bp,
                                       std::int64_t steps) {
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < steps; ++p) {
    tileStep<MR, NV>(acc, bp, [ap](int i) RANDLAB_AVX512 { return _mm512_set1_ps(ap[i]); });
    ap += MR;
    bp += NV * 16;
  }
}

// MR rows × NV·16 columns of C held in MR·NV accumulators, A and B from packed panels.
template <int MR, int NV>
RANDLAB_AVX512 void microKernelAvx512(std::int64_t kc, const float* __restrict ap, const float* __restrict bp,
                                      float* __restrict c, std::int64_t ldc, float alpha, float beta) {
  __m512 acc[MR][NV];
  zeroTile(acc);
  // The C tile is touched only after the k loop; start fetching it now.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  packedSteps(acc, ap, bp, kc);
  storeTile(acc, c, ldc, alpha, beta);
}

// microKernelAvx512 prefetching the row segments of `memory` over its k loop, an equal share every 8 steps.
template <int MR, int NV>
RANDLAB_AVX512 void microKernelPrefetchingAvx512(std::int64_t kc, const float* __restrict ap,
                                                 const float* __restrict bp, float* __restrict c, std::int64_t ldc,
                                                 float alpha, float beta, const TileMemory& memory) {
  constexpr std::int64_t kStepsPerShare = 8;
  __m512 acc[MR][NV];
  zeroTile(acc);
  const int segments = memory.arrays * memory.rows;
  int issued = 0;
  for (std::int64_t p0 = 0; p0 < kc; p0 += kStepsPerShare) {
    const std::int64_t sharesLeft = (kc - p0 + kStepsPerShare - 1) / kStepsPerShare;
    const int share = static_cast<int>((segments - issued + sharesLeft - 1) / sharesLeft);
    for (int q = 0; q < share; ++q) prefetchTileRow(memory, issued + q);
    issued += share;
    packedSteps(acc, ap, bp, kc - p0 < kStepsPerShare ? kc - p0 : kStepsPerShare);
  }
  storeTile(acc, c, ldc, alpha, beta);
}

// Broadcasts the float at base + index·SCALE bytes. Written as one instruction because the compiler,
// left to itself, gives each of the 8 rows below its own address register and then runs out of
// them (it spilled a B vector to the stack in the inner loop). A is only read in the kernel, so the
// asm needs no memory clobber.
template <int SCALE>
RANDLAB_AVX512 inline __m512 broadcastAt(const char* base, std::int64_t index) {
  __m512 out;
  asm("vbroadcastss (%1,%2,%c3), %0" : "=v"(out) : "r"(base), "r"(index), "n"(SCALE));
  return out;
}

RANDLAB_AVX512 inline __m512 broadcastAt(const char* base) {
  __m512 out;
  asm("vbroadcastss (%1), %0" : "=v"(out) : "r"(base));
  return out;
}

// Row i (0..7) of an 8-row panel, from r (row 0), r3 (row 3) and the row strides ld and ld3 = 3·ld
// in bytes: four address registers for eight rows.
RANDLAB_AVX512 inline __m512 broadcastRow(int i, const char* r, const char* r3, std::int64_t ld, std::int64_t ld3) {
  switch (i) {
    case 0:
      return broadcastAt(r);
    case 1:
      return broadcastAt<1>(r, ld);
    case 2:
      return broadcastAt<2>(r, ld);
    case 3:
      return broadcastAt(r3);
    case 4:
      return broadcastAt<4>(r, ld);
    case 5:
      return broadcastAt<2>(r3, ld);
    case 6:
      return broadcastAt<2>(r, ld3);
    default:
      return broadcastAt<4>(r3, ld);
  }
}

// The 8-row tile with A read in place from 8 rows of a row-major matrix (lda floats apart). Every
// 16 steps it prefetches the next 16 floats of each row of the next panel, so by the time the
// caller moves on, that panel has come in from memory behind this one's arithmetic.
template <int NV, int BSTRIDE = NV * 16>
RANDLAB_AVX512 void microKernelDirectAAvx512(std::int64_t kc, const float* __restrict a, std::int64_t lda,
                                             const float* nextA, const float* __restrict bp, float* __restrict c,
                                             std::int64_t ldc, float alpha, float beta) {
  constexpr int MR = 8, NR = BSTRIDE;
  // Kept in memory until the tile is stored: in registers they pushed a B vector out to the stack.
  volatile float alphaSaved = alpha, betaSaved = beta;
  __m512 acc[MR][NV];
  zeroTile(acc);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);

  const std::int64_t ld = lda * 4, ld3 = 3 * ld;
  const char* r = reinterpret_cast<const char*>(a);
  const char* r3 = r + ld3;
  const char* next = reinterpret_cast<const char*>(nextA);
  for (std::int64_t p0 = 0; p0 < kc; p0 += 16) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) _mm_prefetch(next + i * ld + p0 * 4, _MM_HINT_T0);
    const std::int64_t p1 = p0 + 16 < kc ? p0 + 16 : kc;
#pragma GCC unroll 1
    for (std::int64_t p = p0; p < p1; ++p, r += 4, r3 += 4, bp += NR)
      tileStep<MR, NV>(acc, bp, [&](int i) RANDLAB_AVX512 { return broadcastRow(i, r, r3, ld, ld3); });
  }
  storeTile(acc, c, ldc, alphaSaved, betaSaved);
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
        for (int q = 0; q < 16; ++q) r[q] = (rowMask >> q) & 1 ? _mm512_loadu_ps(src[q] + p) : _mm512_setzero_ps();
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
  static const GemmKernel kernel{"avx512-8x48",
                                 8,
                                 48,
                                 256,
                                 144,
                                 4080,
                                 &microKernelAvx512<8, 3>,
                                 &packBTransposedAvx512<48>,
                                 &packANotTransposedAvx512<8>,
                                 &microKernelDirectAAvx512<3>,
                                 &microKernelDirectAAvx512<2, 48>,
                                 &microKernelPrefetchingAvx512<8, 3>};
  return &kernel;
}

}  // namespace randlab

#else

namespace randlab {
const GemmKernel* avx512GemmKernel() { return nullptr; }
}  // namespace randlab

#endif

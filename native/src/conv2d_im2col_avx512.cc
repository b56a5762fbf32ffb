// Implements part of src/kernels/reference/conv2d.ts (conv2dForward, conv2dBackwardData, conv2dBackwardFilter).
//
// AVX-512 im2col panel packer. The images are zero-padded beforehand (PaddedImages), so every
// run is a plain copy with full 16-float loads and stores: a store may spill past its run into
// the columns the next run (or the next row, packed later) overwrites, and into the GEMM's packing
// slack after the last panel; a load may read into the padded buffer's slack.
#include "conv2d_im2col.h"
#include "cpu_features.h"
#include "gemm_avx512_transpose.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace randlab {
namespace {

// dst[t] = src[t·stride] for t in [0, length), rounded up to whole vectors.
RANDLAB_AVX512 inline void copyRun(const float* src, std::int64_t stride, float* dst, int length) {
  if (stride == 1) {
    for (int t = 0; t < length; t += 16) _mm512_storeu_ps(dst + t, _mm512_loadu_ps(src + t));
  } else if (stride == 2) {
    // 32 consecutive floats hold the 16 wanted ones at even positions.
    const __m512i evens = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int t = 0; t < length; t += 16) {
      const __m512 low = _mm512_loadu_ps(src + 2 * t), high = _mm512_loadu_ps(src + 2 * t + 16);
      _mm512_storeu_ps(dst + t, _mm512_permutex2var_ps(low, evens, high));
    }
  } else {
    for (int t = 0; t < length; ++t) dst[t] = src[t * stride];
  }
}

RANDLAB_AVX512 void packPanels(const PaddedImages& x, const ConvGeometry& g, std::int64_t p0, std::int64_t kc,
                               std::int64_t j0, std::int64_t nc, int nr, float* out) {
  const std::int64_t plane = x.height * x.width;
  PixelRun runs[kMaxPanelWidth];
  for (std::int64_t jp = 0; jp < nc; jp += nr) {
    const int cols = static_cast<int>(nc - jp < nr ? nc - jp : nr);
    const int runCount = splitIntoRuns(j0 + jp, cols, g, runs);
    float* panel = out + jp * kc;
    std::int64_t c = p0 / (g.kh * g.kw), ki = p0 / g.kw % g.kh, kj = p0 % g.kw;
    for (std::int64_t p = 0; p < kc; ++p) {
      float* dst = panel + p * nr;
      const float* tap = x.data + c * plane + ki * x.width + kj;
      for (int r = 0; r < runCount; ++r) {
        const PixelRun& run = runs[r];
        const float* src = tap + run.image * g.c * plane + run.oh * g.strideH * x.width + run.ow0 * g.strideW;
        copyRun(src, g.strideW, dst + run.offset, run.length);
      }
      if (cols < nr) {  // zero columns of the last panel, after the runs' spill
        for (int t = cols; t < nr; ++t) dst[t] = 0.0f;
      }
      if (++kj == g.kw) {
        kj = 0;
        if (++ki == g.kh) {
          ki = 0;
          ++c;
        }
      }
    }
  }
}

// Lanes [lo, hi) of 16 (0 <= lo <= hi <= 16).
inline __mmask16 lanes(int lo, int hi) { return static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1)); }

// 16 consecutive pixels of the chunk split by output row: lanes [lane, lane + length) of a vector
// come from `offset` + (lane − first lane) in the padded images (stride 1).
struct PixelSegment {
  int lane, length;
  std::int64_t offset;
};

int pixelSegments(std::int64_t p, int count, const ConvGeometry& g, const PaddedImages& x, PixelSegment* segments) {
  const std::int64_t S = g.outSpatial(), plane = x.height * x.width;
  int n = 0;
  for (int lane = 0; lane < count;) {
    const std::int64_t pixel = p + lane, image = pixel / S, s = pixel % S, oh = s / g.outW, ow = s % g.outW;
    const int length = static_cast<int>(std::min<std::int64_t>(g.outW - ow, count - lane));
    segments[n++] = PixelSegment{lane, length, image * g.c * plane + oh * x.width + ow};
    lane += length;
  }
  return n;
}

RANDLAB_AVX512 void packTransposedPanels(const PaddedImages& x, const ConvGeometry& g, std::int64_t p0, std::int64_t kc,
                                         std::int64_t j0, std::int64_t nc, int nr, float* out) {
  const std::int64_t plane = x.height * x.width, taps = g.kh * g.kw;
  PixelSegment segments[17];
  for (std::int64_t jp = 0; jp < nc; jp += nr) {
    float* panel = out + jp * kc;
    for (int jb = 0; jb < nr; jb += 16) {
      // Where each of the 16 taps of this group reads pixel 0 of image 0; null past the last tap.
      const float* tapBase[16];
      for (int q = 0; q < 16; ++q) {
        const std::int64_t j = j0 + jp + jb + q;
        if (jp + jb + q >= nc) {
          tapBase[q] = nullptr;
          continue;
        }
        const std::int64_t c = j / taps, ki = j / g.kw % g.kh, kj = j % g.kw;
        tapBase[q] = x.data + c * plane + ki * x.width + kj;
      }
      for (std::int64_t p = 0; p < kc; p += 16) {
        const int count = static_cast<int>(kc - p < 16 ? kc - p : 16);
        const int segmentCount = pixelSegments(p0 + p, count, g, x, segments);
        __m512 r[16];
        for (int q = 0; q < 16; ++q) {
          r[q] = _mm512_setzero_ps();
          if (tapBase[q] == nullptr) continue;
          for (int s = 0; s < segmentCount; ++s) {
            const PixelSegment& seg = segments[s];
            // Shifted back by seg.lane so that lane seg.lane reads the segment's first pixel.
            r[q] =
                _mm512_mask_loadu_ps(r[q], lanes(seg.lane, seg.lane + seg.length), tapBase[q] + seg.offset - seg.lane);
          }
        }
        transpose16x16(r);
        for (int t = 0; t < count; ++t) _mm512_store_ps(panel + (p + t) * nr + jb, r[t]);
      }
    }
  }
}

}  // namespace

bool TransposedIm2colPanels::supported(const ConvGeometry& g) {
  return g.strideH == 1 && g.strideW == 1 && activeSimdLevel() == SimdLevel::Avx512;
}

void TransposedIm2colPanels::pack(std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, int nr,
                                  float* out) const {
  packTransposedPanels(x_, g_, p0, kc, j0, nc, nr, out);
}

bool packIm2colPanelsAvx512(const PaddedImages& x, const ConvGeometry& g, std::int64_t p0, std::int64_t kc,
                            std::int64_t j0, std::int64_t nc, int nr, float* out) {
  packPanels(x, g, p0, kc, j0, nc, nr, out);
  return true;
}

}  // namespace randlab

#else

namespace randlab {
bool TransposedIm2colPanels::supported(const ConvGeometry&) { return false; }
void TransposedIm2colPanels::pack(std::int64_t, std::int64_t, std::int64_t, std::int64_t, int, float*) const {}
bool packIm2colPanelsAvx512(const PaddedImages&, const ConvGeometry&, std::int64_t, std::int64_t, std::int64_t,
                            std::int64_t, int, float*) {
  return false;
}
}  // namespace randlab

#endif

// Implements part of src/kernels/reference/conv2d.ts (conv2dForward, conv2dBackwardData, conv2dBackwardFilter).
//
// im2col / col2im (written column matrices, for the backward passes that need them) and the
// portable im2col panel packer of the forward pass.
#include "conv2d_im2col.h"

#include <algorithm>
#include <cstring>

#include "simd_dispatch.h"

namespace randlab {
namespace {

// The output columns ow whose input column ow·stride − pad + kj lies inside [0, width):
// [lo, hi). Computed once per kernel column instead of testing every pixel.
struct ValidRange {
  std::int64_t lo, hi;
};

ValidRange validOutputRange(std::int64_t kj, std::int64_t stride, std::int64_t pad, std::int64_t width,
                            std::int64_t outWidth) {
  // smallest ow with ow·stride ≥ pad − kj, and largest with ow·stride ≤ width − 1 + pad − kj
  const std::int64_t first = pad - kj;
  std::int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const std::int64_t last = width - 1 + pad - kj;
  std::int64_t hi = last < 0 ? 0 : last / stride + 1;
  lo = std::min(lo, outWidth);
  hi = std::max(lo, std::min(hi, outWidth));
  return {lo, hi};
}

void im2colRows(const float* x, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1,
                float* __restrict col) {
  const std::int64_t S = g.outSpatial(), ld = images * S, plane = g.inSpatial();
  for (std::int64_t c = c0; c < c1; ++c) {
    for (std::int64_t ki = 0; ki < g.kh; ++ki) {
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        float* dstRow = col + (((c - c0) * g.kh + ki) * g.kw + kj) * ld;
        const ValidRange cols = validOutputRange(kj, g.strideW, g.padW, g.w, g.outW);
        const std::int64_t inOffset = cols.lo * g.strideW - g.padW + kj;  // input column of ow = cols.lo
        for (std::int64_t image = 0; image < images; ++image) {
          const float* src = x + (image * g.c + c) * plane;
          float* dst = dstRow + image * S;
          for (std::int64_t oh = 0; oh < g.outH; ++oh, dst += g.outW) {
            const std::int64_t ih = oh * g.strideH - g.padH + ki;
            if (ih < 0 || ih >= g.h) {
              std::fill(dst, dst + g.outW, 0.0f);
              continue;
            }
            const float* in = src + ih * g.w + inOffset;
            std::fill(dst, dst + cols.lo, 0.0f);
            if (g.strideW == 1) {
              std::memcpy(dst + cols.lo, in, sizeof(float) * (cols.hi - cols.lo));
            } else {
              for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow, in += g.strideW) dst[ow] = *in;
            }
            std::fill(dst + cols.hi, dst + g.outW, 0.0f);
          }
        }
      }
    }
  }
}

void col2imRows(const float* __restrict col, std::int64_t images, const ConvGeometry& g, std::int64_t c0,
                std::int64_t c1, float* __restrict dx) {
  const std::int64_t S = g.outSpatial(), ld = images * S, plane = g.inSpatial();
  for (std::int64_t c = c0; c < c1; ++c) {
    for (std::int64_t ki = 0; ki < g.kh; ++ki) {
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        const float* srcRow = col + (((c - c0) * g.kh + ki) * g.kw + kj) * ld;
        const ValidRange cols = validOutputRange(kj, g.strideW, g.padW, g.w, g.outW);
        const std::int64_t inOffset = cols.lo * g.strideW - g.padW + kj;
        for (std::int64_t image = 0; image < images; ++image) {
          float* dst = dx + (image * g.c + c) * plane;
          const float* src = srcRow + image * S;
          for (std::int64_t oh = 0; oh < g.outH; ++oh, src += g.outW) {
            const std::int64_t ih = oh * g.strideH - g.padH + ki;
            if (ih < 0 || ih >= g.h) continue;
            float* out = dst + ih * g.w + inOffset;
            if (g.strideW == 1) {
              for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow) out[ow - cols.lo] += src[ow];
            } else {
              for (std::int64_t ow = cols.lo; ow < cols.hi; ++ow, out += g.strideW) *out += src[ow];
            }
          }
        }
      }
    }
  }
}

}  // namespace

// The wrappers compile the loops for the active SIMD level (simd_dispatch.h's simdDispatch).
void im2col(const float* x, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1, float* col) {
  simdDispatch([&] { im2colRows(x, images, g, c0, c1, col); });
}

void col2imAccumulate(const float* col, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1,
                      float* dx) {
  simdDispatch([&] { col2imRows(col, images, g, c0, c1, dx); });
}

namespace {

void padPlanes(const float* __restrict x, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1,
               float* __restrict out) {
  const std::int64_t height = g.h + 2 * g.padH, width = g.w + 2 * g.padW;
  for (std::int64_t image = 0; image < images; ++image) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const float* src = x + (image * g.c + c) * g.h * g.w;
      float* dst = out + (image * g.c + c) * height * width;
      std::fill(dst, dst + g.padH * width, 0.0f);
      for (std::int64_t ih = 0; ih < g.h; ++ih) {
        float* row = dst + (g.padH + ih) * width;
        std::fill(row, row + g.padW, 0.0f);
        std::memcpy(row + g.padW, src + ih * g.w, sizeof(float) * g.w);
        std::fill(row + g.padW + g.w, row + width, 0.0f);
      }
      std::fill(dst + (g.padH + g.h) * width, dst + height * width, 0.0f);
    }
  }
}

void packPanels(const PaddedImages& x, const ConvGeometry& g, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                std::int64_t nc, int nr, float* out) {
  const std::int64_t plane = x.height * x.width;
  PixelRun runs[kMaxPanelWidth];
  for (std::int64_t jp = 0; jp < nc; jp += nr) {
    const int cols = static_cast<int>(std::min<std::int64_t>(nr, nc - jp));
    const int runCount = splitIntoRuns(j0 + jp, cols, g, runs);
    float* panel = out + jp * kc;
    // Row p of the column matrix is filter tap (c, ki, kj); walk the taps incrementally.
    std::int64_t c = p0 / (g.kh * g.kw), ki = p0 / g.kw % g.kh, kj = p0 % g.kw;
    for (std::int64_t p = 0; p < kc; ++p) {
      float* __restrict dst = panel + p * nr;
      for (int r = 0; r < runCount; ++r) {
        const PixelRun& run = runs[r];
        const float* __restrict src =
            x.data + (run.image * g.c + c) * plane + (run.oh * g.strideH + ki) * x.width + run.ow0 * g.strideW + kj;
        float* __restrict runDst = dst + run.offset;
        for (int t = 0; t < run.length; ++t) runDst[t] = src[t * g.strideW];
      }
      for (int t = cols; t < nr; ++t) dst[t] = 0.0f;
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

}  // namespace

std::int64_t paddedImagesSize(std::int64_t images, const ConvGeometry& g) {
  return images * g.c * (g.h + 2 * g.padH) * (g.w + 2 * g.padW) + kPaddedSlack;
}

void padImages(const float* x, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1,
               float* out) {
  simdDispatch([&] { padPlanes(x, images, g, c0, c1, out); });
}

void Im2colPanels::pack(std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, int nr, float* out) const {
  if (activeSimdLevel() == SimdLevel::Avx512 && packIm2colPanelsAvx512(x_, g_, p0, kc, j0, nc, nr, out)) return;
  // Compiled for the active SIMD level (simdDispatch), so the short copies vectorise.
  simdDispatch([&] { packPanels(x_, g_, p0, kc, j0, nc, nr, out); });
}

}  // namespace randlab

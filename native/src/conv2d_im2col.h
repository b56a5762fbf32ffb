// Implements part of src/kernels/reference/conv2d.ts: the im2col column matrices of the direct convolution.
//
// im2col and its adjoint col2im for a chunk of consecutive images (see conv2d.h for the layout).
// Both work on the rows of channels [c0, c1) only, so callers can split the work by channel.
#pragma once
#include <algorithm>
#include <cstdint>

#include "conv2d.h"
#include "gemm.h"

namespace randlab {

// The rows of channels [c0, c1) of the column matrix of `images` images starting at x (image 0 of
// the chunk): col[((c − c0)·kh + ki)·kw + kj][image·S + s], row stride images·S.
void im2col(const float* x, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1, float* col);

// The adjoint: dx[image, c, ih, iw] += every entry of those rows that im2col would have read from
// there, for c in [c0, c1) (col laid out as im2col writes it).
void col2imAccumulate(const float* col, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1,
                      float* dx);

// ---- packing the forward pass's columns straight from the images ------------------------------

// The images of a chunk copied with their zero padding made explicit: plane (image, c) is
// (h + 2·padH) × (w + 2·padW). Reading windows from it needs no bounds tests, and
// kPaddedSlack floats after the last plane let a vector load run past the last pixel (what it
// reads there only ever lands in columns that are overwritten).
struct PaddedImages {
  const float* data;
  std::int64_t height, width;  // padded plane size
};
constexpr std::int64_t kPaddedSlack = 64;

std::int64_t paddedImagesSize(std::int64_t images, const ConvGeometry& g);
// Writes planes of channels [c0, c1) of every image; `out` holds paddedImagesSize floats.
void padImages(const float* x, std::int64_t images, const ConvGeometry& g, std::int64_t c0, std::int64_t c1,
               float* out);

// A run of panel columns that share an image and an output row: columns [offset, offset+length)
// of a panel are output pixels (oh, ow0 .. ow0+length) of image `image`. Within a run, a filter
// tap reads one input row, so packing copies runs instead of single pixels.
struct PixelRun {
  int offset, length;
  std::int64_t image, oh, ow0;
};

constexpr int kMaxPanelWidth = 128;

// Splits the panel columns [j0, j0 + cols) (cols <= kMaxPanelWidth) into runs; returns their count.
inline int splitIntoRuns(std::int64_t j0, int cols, const ConvGeometry& g, PixelRun* runs) {
  const std::int64_t S = g.outSpatial();
  int count = 0;
  for (int offset = 0; offset < cols;) {
    const std::int64_t j = j0 + offset, image = j / S, s = j % S, oh = s / g.outW, ow = s % g.outW;
    const int length = static_cast<int>(std::min<std::int64_t>(g.outW - ow, cols - offset));
    runs[count++] = PixelRun{offset, length, image, oh, ow};
    offset += length;
  }
  return count;
}

// The AVX-512 panel packer (conv2d_im2col_avx512.cc); false when not compiled for this target.
bool packIm2colPanelsAvx512(const PaddedImages& x, const ConvGeometry& g, std::int64_t p0, std::int64_t kc,
                            std::int64_t j0, std::int64_t nc, int nr, float* out);

// The column matrix of a chunk of images as a GEMM operand that packs its panels straight from the
// (padded) images, so the forward pass never writes the column matrix out: that would be a pass
// over kh·kw times more floats than the images hold, read back at once by the GEMM's packing.
class Im2colPanels final : public PanelSource {
 public:
  Im2colPanels(const PaddedImages& x, const ConvGeometry& g) : x_(x), g_(g) {}
  void pack(std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, int nr, float* out) const override;

 private:
  PaddedImages x_;
  ConvGeometry g_;
};

// The transposed column matrix of a chunk, colᵀ [images·S, K] (row = output pixel, column =
// filter tap), packed straight from the padded images for the backward-filter GEMM
// dW = dY · colᵀ. 16 taps × 16 pixels are loaded as 16 row segments and transposed in registers.
// AVX-512 and stride 1 only (supported() says so); other cases write im2col out instead.
class TransposedIm2colPanels final : public PanelSource {
 public:
  TransposedIm2colPanels(const PaddedImages& x, const ConvGeometry& g) : x_(x), g_(g) {}
  static bool supported(const ConvGeometry& g);
  void pack(std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, int nr, float* out) const override;

 private:
  PaddedImages x_;
  ConvGeometry g_;
};

}  // namespace randlab

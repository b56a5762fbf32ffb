// Implements src/kernels/reference/conv2d.ts: the shared declarations of the convolution files (conv2d*.cc).
//
// 2-d convolution (NCHW images, [outC, inC, kh, kw] filters) as GEMMs over im2col columns.
//
// Column matrix of a chunk of images: row r = (c, ki, kj) of the filter window, column
// (image, oh, ow) of the output; element = x[image, c, oh·sh − ph + ki, ow·sw − pw + kj] or 0 in
// the padding. Then forward is W[outC, K] · col, backward data is col2im(Wᵀ · dY) and backward
// filter is dY · colᵀ, all with the packed GEMM of gemm.h.
#pragma once
#include <cstdint>

namespace randlab {

struct ConvGeometry {
  std::int64_t n, c, h, w;    // input batch, channels, height, width
  std::int64_t outC, kh, kw;  // filters
  std::int64_t strideH, strideW, padH, padW;
  std::int64_t outH, outW;

  std::int64_t windowSize() const { return c * kh * kw; }  // K: GEMM depth of the forward pass
  std::int64_t outSpatial() const { return outH * outW; }  // S: output pixels per image
  std::int64_t inSpatial() const { return h * w; }
  // 1×1, stride 1, no padding: the column matrix of an image is the image itself.
  bool isPointwise() const { return kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0; }
};

// For stride 1: the geometry of ∂L/∂x computed as a forward convolution over dY (padded by
// kh − 1 − padH, and likewise in w) with the filters flipped in space and in/out channels swapped.
ConvGeometry backwardDataAsForward(const ConvGeometry& g);

// y = conv(x, w) + bias (bias may be null); y is overwritten.
void conv2dForward(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g);
// dx = ∂L/∂x from dy; dx is overwritten.
void conv2dBackwardData(const float* dy, const float* w, float* dx, const ConvGeometry& g);
// dw = ∂L/∂w and dbias = ∂L/∂bias (dbias may be null); both overwritten.
void conv2dBackwardFilter(const float* x, const float* dy, float* dw, float* dbias, const ConvGeometry& g);

}  // namespace randlab

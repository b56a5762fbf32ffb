// Implements part of src/kernels/reference/conv2d.ts: its 3×3 stride-1 pad-1 case by Winograd's method.
//
// 3×3, stride-1, pad-1 convolutions by Winograd's minimal filtering F(2×2, 3×3).
//
// Each 2×2 block of output pixels is computed from a 4×4 block of input pixels with 16 products
// per (input, output) channel pair instead of the direct method's 36: the input block is mapped
// to V = Bᵀ d B, the filter to U = G g Gᵀ, their element-wise product summed over input channels
// (16 independent GEMMs, one per entry ξ of the 4×4 transform) and mapped back by Y = Aᵀ M A.
// Backward data is the same forward pass over dY, its U built from the flipped, channel-swapped
// filters; backward filter uses the transposed relation dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ]ᵀ · V[ξ],
// dg = Gᵀ dU G. The transforms only add, subtract and halve, so the rounding stays within a few
// ulps of the direct method (tested against the reference kernels at 1e-5).
#pragma once
#include "conv2d.h"

namespace randlab {

// Whether the Winograd path runs this geometry: 3×3, stride 1, padding 1, at least 64 input and
// 64 output channels. Measured on 2 cores at batch 128: up to 45% less time than the direct path
// (512 → 512 at 4×4), 20% on 64 → 64 at 32×32 inside ResNet-18 steps, no gain on 64 → 128 at
// 16×16 (docs/native-kernels.md). RANDLAB_WINOGRAD=0 disables it.
bool winogradSuitable(const ConvGeometry& g);
// The backward-filter pass only from 8×8 planes down: on 16×16 planes (64 or 128 → 128 channels)
// it measured no faster than the direct path (12.4–24.8 ms against 12.6–24.1), on 8×8 15–20% faster.
bool winogradSuitableForFilterGradient(const ConvGeometry& g);

void winogradForward(const float* x, const float* w, const float* bias, float* y, const ConvGeometry& g);
// dx from dy as a forward pass over dy with the flipped filters (no flipped copy of w is made).
void winogradBackwardData(const float* dy, const float* w, float* dx, const ConvGeometry& g);
void winogradBackwardFilter(const float* x, const float* dy, float* dw, float* dbias, const ConvGeometry& g);

}  // namespace randlab

// Infrastructure (no TypeScript reference).
//
// Per-thread scratch memory that grows and is never freed, so kernels allocate nothing once
// warmed up (a training step calls the same shapes again and again).
//
// Each thread (the JavaScript thread and every pool worker) owns one buffer per slot; a kernel
// asks for `count` floats in a slot and gets 64-byte aligned memory whose contents are
// unspecified. Distinct slots never alias, so a kernel may hold several at once (conv holds its
// column buffer while the GEMM it calls holds the packing buffers). A pointer stays valid until
// the same thread asks for the same slot again.
#pragma once
#include <cstddef>

namespace randlab {

enum class WorkspaceSlot {
  GemmPackA,
  GemmPackB,
  GemmReduce,               // GEMM partial products when k is split across threads
  GemmTransposed,           // Cᵀ of a narrow product computed transposed
  GemmConsumed,             // a product stored whole before a TileConsumer takes it (see gemm.cc)
  ConvColumns,              // im2col / dcol buffer
  ConvStaging,              // gathered or scattered GEMM operands (images side by side)
  ConvPadded,               // zero-padded copies of input images
  ConvFlippedFilters,       // filters rearranged for backward data as a forward pass
  ConvPartialSum,           // per-thread partial filter gradients
  WinogradFilters,          // transformed filters U
  WinogradInput,            // transformed input tiles V of a chunk
  WinogradProducts,         // products M (or transformed output gradients) of a chunk
  WinogradChannelsLast,     // one image (or its output) with channels innermost
  WinogradFilterGradients,  // per-thread transformed filter gradients dU
  Count
};

float* workspace(WorkspaceSlot slot, std::size_t count);

}  // namespace randlab

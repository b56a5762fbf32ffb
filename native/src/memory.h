// Implements part of src/kernels/reference/memory.ts (allocateFloat32); the GEMM workspace uses it too.
//
// Large buffers in 2 MiB pages.
//
// Why: a training step sweeps weight matrices, momentum buffers and activations of tens of MB,
// and the fused weight update walks a weight matrix in 8-row blocks 12 KB apart. With 4 KiB pages
// every such block touches its own page, the TLB misses on nearly every row, and the page walks
// stall the loads that the GEMM's prefetching was meant to hide. Memory mapped on a 2 MiB
// boundary and advised MADV_HUGEPAGE gets transparent huge pages (Linux, THP "madvise" or
// "always"), which cover a 12 MB matrix with 6 TLB entries instead of 3072.
//
// Elsewhere (no THP, other systems, smaller sizes) these are plain zero-filled allocations.
#pragma once
#include <cstddef>

namespace randlab {

// Every buffer starts on a cache line, which is also one AVX-512 register.
constexpr std::size_t kBufferAlignment = 64;

// Buffers of at least this many bytes are placed on huge-page boundaries.
constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// Zero-filled, kBufferAlignment-aligned (2 MiB aligned when bytes >= kHugePageBytes on Linux) memory for
// `bytes` bytes; nullptr when out of memory. Release with releaseLarge(pointer, bytes).
void* allocateLarge(std::size_t bytes);
void releaseLarge(void* pointer, std::size_t bytes);

}  // namespace randlab

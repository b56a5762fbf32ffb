// Implements part of src/kernels/reference/gemm.ts (gemm).
//
// Register-tiled GEMM micro-kernels, one set per instruction set (gemm_avx512.cc, gemm_avx2.cc,
// gemm_generic.cc), described by a GemmKernel so the driver in gemm.cc stays ISA-independent.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace randlab {

// Packed operand layouts the micro-kernel reads (both zero-padded to full panels):
//   A panel: kc × MR, element (i, p) at ap[p * MR + i]   (one MR-vector of A per step p)
//   B panel: kc × NR, element (p, j) at bp[p * NR + j]   (one NR-vector of B per step p)
// The micro-kernel computes the MR×NR tile T = Σ_p A(:,p) B(p,:) and stores
// C = alpha · T + beta · C (C not read when beta == 0), row stride ldc.
using MicroKernel = void (*)(std::int64_t kc, const float* ap, const float* bp, float* c, std::int64_t ldc, float alpha,
                             float beta);

// Packs op(B)(p0 .. p0+kc, j0 .. j0+nc) into ceil(nc/NR) panels of kc×NR, for B stored transposed
// (element (p, j) at b[j * ldb + p]). Optional: an ISA can provide a vectorised transpose.
using PackBTransposed = void (*)(const float* b, std::int64_t ldb, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                                 std::int64_t nc, float* out);

// Packs op(A)(i0 .. i0+mc, p0 .. p0+kc) into ceil(mc/MR) panels of kc×MR, for A stored as is
// (element (i, p) at a[i * lda + p]). Optional, like PackBTransposed.
using PackANotTransposed = void (*)(const float* a, std::int64_t lda, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                                    std::int64_t kc, float* out);

// The same tile with A read where it is stored, [m, k] row-major (element (i, p) at a[i * lda + p]),
// instead of from a packed panel: for products whose A is large and used against few B panels (a
// weight matrix times a batch), where packing A would cost as much as the multiplication saves.
// `nextA` (same layout) is the panel the caller multiplies next; the kernel prefetches it.
using MicroKernelDirectA = void (*)(std::int64_t kc, const float* a, std::int64_t lda, const float* nextA,
                                    const float* bp, float* c, std::int64_t ldc, float alpha, float beta);

// The packed micro-kernel that also prefetches `memory`, a few row segments every few steps of its
// k loop, so that it arrives behind the arithmetic (a TileConsumer's next tile, see gemm.h).
using MicroKernelPrefetching = void (*)(std::int64_t kc, const float* ap, const float* bp, float* c, std::int64_t ldc,
                                        float alpha, float beta, const TileMemory& memory);

struct GemmKernel {
  const char* name;
  int mr, nr;      // register tile
  int kc, mc, nc;  // cache blocks: kc·NR floats of B in L1, mc·kc of A in L2, kc·nc of B in L2/L3
  MicroKernel micro;
  PackBTransposed packBTransposed;        // nullptr: the driver's portable packer
  PackANotTransposed packANotTransposed;  // nullptr: the driver's portable packer
  MicroKernelDirectA microDirectA;        // nullptr: A is always packed
  // microDirectA for a last B panel of at most NR − 16 columns (B rows still NR apart), so a batch
  // of 128 against NR = 48 does not pay for 16 columns of padding; nullptr: microDirectA.
  MicroKernelDirectA microDirectANarrow;
  MicroKernelPrefetching microPrefetching;  // nullptr: the lines are prefetched before micro
};

// nullptr when the CPU or the compiler target lacks the instruction set.
const GemmKernel* avx512GemmKernel();
const GemmKernel* avx2GemmKernel();
const GemmKernel* genericGemmKernel();

}  // namespace randlab

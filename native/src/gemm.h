// Implements src/kernels/reference/gemm.ts (gemm): the float32 GEMM's interface, used by the convolutions too.
//
// Single-precision GEMM for the native kernels: C = alpha · op(A) · op(B) + beta · C, row-major.
//
// BLIS-style: op(B) is packed into KC×NR column panels and op(A) into MC×KC blocks of MR-row
// panels, so the register-tiled micro-kernel streams both operands with unit stride from L1/L2;
// the micro-kernel is chosen at run time (AVX-512, AVX2+FMA or portable C++, see cpu_features.h).
// A weight matrix larger than L2 multiplied against a small batch is read in place instead of
// packed (gemmRegionDirectA in gemm.cc; docs/native-kernels.md).
#pragma once
#include <cstdint>

#include "matrix_operand.h"
#include "threadpool.h"

namespace randlab {

using ConstMatrix = MatrixOperand<float>;

// An op(B) that is never stored as a matrix but packs any block of itself on demand, e.g. the
// im2col columns of an image read straight from the image (conv2d_im2col.h): the GEMM calls pack()
// for each KC×NC block it needs, so the block goes from the source to the packed panels once.
constexpr std::int64_t kPanelSlack = 16;

class PanelSource {
 public:
  virtual ~PanelSource() = default;
  // Writes op(B)(p0 .. p0+kc, j0 .. j0+nc) as ceil(nc/nr) panels of kc×nr floats, element (p, j)
  // of a panel at panel[p * nr + j], columns past nc zero. It may write up to kPanelSlack floats
  // past the last panel (scratch that vector stores may spill into).
  virtual void pack(std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, int nr, float* out) const = 0;
};

// C[m,n] (leading dimension ldc) = alpha · op(A)[m,k] · op(B)[k,n] + beta · C.
// beta == 0 never reads C, so C may hold garbage or NaN. With Threading::Parallel the work is
// split over the thread pool; use Serial when already inside a parallel region.
void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, ConstMatrix b, float beta,
           float* c, std::int64_t ldc, Threading threading = Threading::Parallel);

// The same product with op(B) [k, n] supplied by a PanelSource.
void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, const PanelSource& b, float beta,
           float* c, std::int64_t ldc, Threading threading = Threading::Parallel);

// Takes the product tile by tile in place of a C matrix, e.g. an optimiser update that consumes a
// weight gradient while it is in registers' reach, so the gradient is never written to memory and
// read back. Every element of the product is passed to consume() exactly once, from any thread
// (tiles are disjoint). The GEMM prefetches the memory that blockFor() names for a tile while it
// computes the tile before, spread over the arithmetic (issued all at once, the 48 lines of an
// 8×48 tile of two arrays stalled the core instead of overlapping with it).
//
// The memory of one tile: the same rows × rowBytes block of each of `arrays` row-major arrays.
struct TileMemory {
  const char* first[2];  // the block's first byte in each array
  int arrays;
  int rows;
  int rowBytes;
  std::int64_t rowStride;  // bytes from one row to the next
};

// Prefetches row segment `index` of a TileMemory, 0 ≤ index < arrays · rows (array-minor).
inline void prefetchTileRow(const TileMemory& memory, int index) {
  const char* start = memory.first[index % memory.arrays] + (index / memory.arrays) * memory.rowStride;
  const auto first = reinterpret_cast<std::uintptr_t>(start) & ~std::uintptr_t{63};
  const auto end = reinterpret_cast<std::uintptr_t>(start) + memory.rowBytes;
  for (std::uintptr_t line = first; line < end; line += 64)
    __builtin_prefetch(reinterpret_cast<const char*>(line), 0, 3);
}

class TileConsumer {
 public:
  virtual ~TileConsumer() = default;
  // What consume() will touch for the tile (arrays = 0: nothing to prefetch).
  virtual TileMemory blockFor(std::int64_t row, std::int64_t col, int rows, int cols) const = 0;
  // tile: rows × cols values of alpha · op(A) · op(B) starting at (row, col), row stride ldt.
  virtual void consume(const float* tile, std::int64_t ldt, std::int64_t row, std::int64_t col, int rows,
                       int cols) const = 0;
};

// alpha · op(A)[m,k] · op(B)[k,n] handed to `consumer` instead of stored. Each value is the one
// sgemm with beta = 0 would store (the same blocking, split and summation order).
void sgemm(std::int64_t m, std::int64_t n, std::int64_t k, float alpha, ConstMatrix a, ConstMatrix b,
           const TileConsumer& consumer, Threading threading = Threading::Parallel);

// Name of the micro-kernel sgemm uses now, e.g. "avx512-8x48" (for benchmarks and tests).
const char* activeGemmKernelName();

}  // namespace randlab

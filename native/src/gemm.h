// Single-precision GEMM for the native kernels: C = alpha · op(A) · op(B) + beta · C, row-major.
//
// BLIS-style: op(B) is packed into KC×NR column panels and op(A) into MC×KC blocks of MR-row
// panels, so the register-tiled micro-kernel streams both operands with unit stride from L1/L2;
// the micro-kernel is chosen at run time (AVX-512, AVX2+FMA or portable C++, see cpu_features.h).
// A weight matrix larger than L2 multiplied against a small batch is read in place instead of
// packed (gemmRegionDirectA in gemm.cc; docs/native-kernels.md).
#pragma once
#include <cstdint>

#include "threadpool.h"

namespace randlab {

// A row-major matrix operand. If `trans` is set, the operand used is the transpose of the stored
// matrix, i.e. element (r, c) of op(X) is data[c * ld + r]; otherwise it is data[r * ld + c].
struct ConstMatrix {
  const float* data;
  std::int64_t ld;
  bool trans;
};

// An op(B) that is never stored as a matrix but packs any block of itself on demand, e.g. the
// im2col columns of an image read straight from the image (conv_im2col.h): the GEMM calls pack()
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

// Name of the micro-kernel sgemm uses now, e.g. "avx512-14x32" (for benchmarks and tests).
const char* activeGemmKernelName();

}  // namespace randlab

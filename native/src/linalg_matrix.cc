// Implements src/linalg/matrix.ts (gemm) in float64: C = alpha · op(A) · op(B) + beta · C,
// row-major, exported as gemmF64(a, b, c, p: GemmParams), for the analysis's products of d = 3072
// covariance matrices and for the decompositions (linalg_matrix.h).
//
// BLIS-style, like the float32 GEMM (gemm.cc) but simpler: op(A) is packed into kMr-row panels and
// op(B) into kNr-column panels, and a kMr × kNr register tile of 6 × 8 doubles (vector accumulators)
// is computed per panel pair. The tile loop runs compiled for the active SIMD level (simdDispatch);
// the packing stays baseline code, as before the dispatch (dispatched too, 1024³ with both operands
// transposed measured 32.6–34.3 GFLOP/s per core against 35.0–37.2). The thread pool takes MC × NC
// blocks of C, k is blocked by KC.
#include "linalg_matrix.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm_args.h"
#include "kernel_args.h"
#include "simd_dispatch.h"
#include "threadpool.h"

namespace randlab {
namespace linalg {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 8;
constexpr Index kKc = 256;
constexpr Index kMc = 96;   // multiple of kMr; an A block (kMc × kKc) is 192 KiB
constexpr Index kNc = 256;  // multiple of kNr; a B block (kKc × kNc) is 512 KiB

// Packs op(A)(i0.., p0..) (mc × kc) into kMr-row panels: panel element (i, p) at p·kMr + i, zero-padded.
void packA(const Operand& a, Index i0, Index mc, Index p0, Index kc, double* out) {
  for (Index ip = 0; ip < mc; ip += kMr) {
    const Index rows = std::min<Index>(kMr, mc - ip);
    double* panel = out + ip * kc;
    for (Index p = 0; p < kc; ++p) {
      for (Index i = 0; i < rows; ++i) panel[p * kMr + i] = a.at(i0 + ip + i, p0 + p);
      for (Index i = rows; i < kMr; ++i) panel[p * kMr + i] = 0.0;
    }
  }
}

// Packs op(B)(p0.., j0..) (kc × nc) into kNr-column panels: panel element (p, j) at p·kNr + j.
void packB(const Operand& b, Index p0, Index kc, Index j0, Index nc, double* out) {
  for (Index jp = 0; jp < nc; jp += kNr) {
    const Index cols = std::min<Index>(kNr, nc - jp);
    double* panel = out + jp * kc;
    for (Index p = 0; p < kc; ++p) {
      double* dst = panel + p * kNr;
      if (!b.trans && cols == kNr) {
        std::memcpy(dst, b.data + (p0 + p) * b.ld + j0 + jp, sizeof(double) * kNr);
        continue;
      }
      for (Index j = 0; j < cols; ++j) dst[j] = b.at(p0 + p, j0 + jp + j);
      for (Index j = cols; j < kNr; ++j) dst[j] = 0.0;
    }
  }
}

// The kMr × kNr register tile: T = Σ_p A(:,p) B(p,:), then C = alpha·T + beta·C on rows × cols.
// Each row of the tile is kNr / W vectors of W doubles (kDoublesPerVector), loaded one vector at a
// time: a copy of the whole row into an array went through the stack on AVX2.
template <int W>
void microKernel(Index kc, const double* ap, const double* bp, double* c, Index ldc, Index rows, Index cols,
                 double alpha, double beta) {
  using Vector = typename DoubleVector<W>::type;
  constexpr int kVectors = kNr / W;
  Vector acc[kMr][kVectors] = {};
  for (Index p = 0; p < kc; ++p) {
    Vector b[kVectors];
    for (int v = 0; v < kVectors; ++v) std::memcpy(&b[v], bp + p * kNr + v * W, sizeof(Vector));
    const double* a = ap + p * kMr;
    for (int i = 0; i < kMr; ++i) {
      for (int v = 0; v < kVectors; ++v) acc[i][v] += a[i] * b[v];
    }
  }
  // Read back through memory only here: indexing acc by the run-time j would keep it in memory
  // throughout the k loop.
  double tile[kMr][kNr];
  std::memcpy(tile, acc, sizeof(tile));
  for (Index i = 0; i < rows; ++i) {
    double* ci = c + i * ldc;
    if (beta == 0.0) {
      for (Index j = 0; j < cols; ++j) ci[j] = alpha * tile[i][j];
    } else {
      for (Index j = 0; j < cols; ++j) ci[j] = alpha * tile[i][j] + beta * ci[j];
    }
  }
}

void gemmBlock(const Operand& a, const Operand& b, double* c, Index ldc, Index i0, Index mc, Index j0, Index nc,
               Index p0, Index kc, double alpha, double beta, std::vector<double>& packedA,
               std::vector<double>& packedB) {
  packedA.resize(static_cast<std::size_t>(((mc + kMr - 1) / kMr) * kMr * kc));
  packedB.resize(static_cast<std::size_t>(((nc + kNr - 1) / kNr) * kNr * kc));
  double* const pa = packedA.data();
  double* const pb = packedB.data();
  packA(a, i0, mc, p0, kc, pa);
  packB(b, p0, kc, j0, nc, pb);
  simdDispatch([&](auto level) {
    constexpr int kLanes = kDoublesPerVector<decltype(level)::value>;
    for (Index jp = 0; jp < nc; jp += kNr) {
      for (Index ip = 0; ip < mc; ip += kMr) {
        microKernel<kLanes>(kc, pa + ip * kc, pb + jp * kc, c + (i0 + ip) * ldc + j0 + jp, ldc,
                            std::min<Index>(kMr, mc - ip), std::min<Index>(kNr, nc - jp), alpha, beta);
      }
    }
  });
}

}  // namespace

void gemm(Index m, Index n, Index k, double alpha, Operand a, Operand b, double beta, double* c, Index ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0) {
    for (Index i = 0; i < m; ++i) {
      for (Index j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
    }
    return;
  }
  const Index mBlocks = (m + kMc - 1) / kMc;
  const Index nBlocks = (n + kNc - 1) / kNc;
  for (Index p0 = 0; p0 < k; p0 += kKc) {
    const Index kc = std::min<Index>(kKc, k - p0);
    const double blockBeta = p0 == 0 ? beta : 1.0;
    auto task = [&](std::ptrdiff_t t) {
      thread_local std::vector<double> packedA, packedB;
      const Index bi = t / nBlocks;
      const Index bj = t % nBlocks;
      const Index i0 = bi * kMc;
      const Index j0 = bj * kNc;
      gemmBlock(a, b, c, ldc, i0, std::min<Index>(kMc, m - i0), j0, std::min<Index>(kNc, n - j0), p0, kc, alpha,
                blockBeta, packedA, packedB);
    };
    const Index tasks = mBlocks * nBlocks;
    if (tasks > 1 && 2.0 * m * n * kc > 2e5) {
      parallelFor(tasks, task);
    } else {
      for (Index t = 0; t < tasks; ++t) task(t);
    }
  }
}

SquareMatrix readSquareMatrix(const KernelArgs& args) {
  const auto a = args.f64(0, "a");
  const Index n = args.integer(1, "n");
  args.requireLength(a, n, n, "a", "n * n");
  return {a.data, n};
}

}  // namespace linalg

// gemmF64(a, b, c, p: GemmParams): C = alpha·op(A)·op(B) + beta·C in float64, A stored [m,k] (or [k,m]
// if p.transA), B [k,n] (or [n,k] if p.transB), C [m,n].
RANDLAB_KERNEL(gemmF64) {
  const ParamsArg p = args.params(3);
  const GemmOperands<double> g = readGemmOperands<double>(args, 0, 1, p);
  const auto c = args.f64(2, "c");
  const double beta = p.number("beta");
  args.requireLength(c, g.m, g.n, "c", "p.m * p.n");
  linalg::gemm(g.m, g.n, g.k, g.alpha, g.a, g.b, beta, c.data, g.n);
  return args.undefined();
}

}  // namespace randlab

// Dense float64 linear algebra for the analysis code (src/linalg): a parallel blocked GEMM, the
// symmetric eigendecomposition, and the orthogonal factor of a QR decomposition.
//
// Why native: the analysis needs eigenpairs of covariance matrices up to 3072×3072 (flattened
// CIFAR images). A pure-JavaScript Jacobi/QL takes minutes there; this takes seconds.
//
// Eigendecomposition, in LAPACK's terms (dsytrd + dstedc + dormtr):
//  1. Householder tridiagonalisation A = Q T Qᵀ on the lower triangle, in panels of 32 columns whose
//     trailing update is one GEMM (dlatrd); each column's matrix–vector product reads the trailing
//     matrix once, split over the thread pool. The last 128 columns go one by one, each step's
//     rank-2 update fused with the next step's product.
//  2. Divide and conquer on T (Cuppen; Gu & Eisenstat's eigenvectors), whose work is GEMM; blocks of
//     at most 32 use implicit QL (EISPACK tql2), whose Givens rotations are recorded and applied in
//     batches, strip by strip over the columns, so a strip stays in cache across many sweeps.
//  3. Eigenvectors of A = Q · eigenvectors of T, the reflectors applied in blocks of 48 in compact-WY
//     form (I − V T Vᵀ), so that work is GEMM too.
// Accuracy is that of the backward-stable textbook algorithms: ‖AV − VΛ‖ ≈ ε·n·‖A‖.
//
// Layout: row-major float64 throughout. Eigenvectors are returned as rows: row i of `vectors` is the
// unit eigenvector of values[i], values ascending; each is signed so its largest-magnitude entry is
// positive (a deterministic choice, so images and tests do not flip between runs).
//
// The hot loops are compiled for AVX-512, AVX2+FMA and baseline x86-64 (target_clones: the loader
// picks one for the CPU). Pool threads never throw: errors are detected before or after parallel work.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "registry.h"
#include "threadpool.h"

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define RANDLAB_LINALG_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define RANDLAB_LINALG_CLONES
#endif

namespace randlab {
namespace linalg {
namespace {

using Index = std::int64_t;

// ------------------------------------------------------------------------------------------------
// GEMM: C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C (row-major, leading dimensions given).
// op(X)(r, c) is x[c·ld + r] when transposed, x[r·ld + c] otherwise. beta == 0 never reads C.

constexpr int kMr = 6;
constexpr int kNr = 8;
constexpr Index kKc = 256;
constexpr Index kMc = 96;   // multiple of kMr; an A block (kMc × kKc) is 192 KiB
constexpr Index kNc = 256;  // multiple of kNr; a B block (kKc × kNc) is 512 KiB

typedef double Vec8 __attribute__((vector_size(64)));

struct Operand {
  const double* data;
  Index ld;
  bool trans;
  double at(Index r, Index c) const { return trans ? data[c * ld + r] : data[r * ld + c]; }
};

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
RANDLAB_LINALG_CLONES
void microKernel(Index kc, const double* ap, const double* bp, double* c, Index ldc, Index rows, Index cols,
                 double alpha, double beta) {
  Vec8 acc[kMr] = {};
  for (Index p = 0; p < kc; ++p) {
    Vec8 b;
    std::memcpy(&b, bp + p * kNr, sizeof(b));
    const double* a = ap + p * kMr;
    for (int i = 0; i < kMr; ++i) acc[i] += a[i] * b;
  }
  for (Index i = 0; i < rows; ++i) {
    double* ci = c + i * ldc;
    if (beta == 0.0) {
      for (Index j = 0; j < cols; ++j) ci[j] = alpha * acc[i][j];
    } else {
      for (Index j = 0; j < cols; ++j) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

void gemmBlock(const Operand& a, const Operand& b, double* c, Index ldc, Index i0, Index mc, Index j0, Index nc,
               Index p0, Index kc, double alpha, double beta, std::vector<double>& packedA,
               std::vector<double>& packedB) {
  packedA.resize(static_cast<std::size_t>(((mc + kMr - 1) / kMr) * kMr * kc));
  packedB.resize(static_cast<std::size_t>(((nc + kNr - 1) / kNr) * kNr * kc));
  packA(a, i0, mc, p0, kc, packedA.data());
  packB(b, p0, kc, j0, nc, packedB.data());
  for (Index jp = 0; jp < nc; jp += kNr) {
    for (Index ip = 0; ip < mc; ip += kMr) {
      microKernel(kc, packedA.data() + ip * kc, packedB.data() + jp * kc, c + (i0 + ip) * ldc + j0 + jp, ldc,
                  std::min<Index>(kMr, mc - ip), std::min<Index>(kNr, nc - jp), alpha, beta);
    }
  }
}

void gemm(Index m, Index n, Index k, double alpha, Operand a, Operand b, double beta, double* c, Index ldc,
          bool parallel = true) {
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
    if (parallel && tasks > 1 && 2.0 * m * n * kc > 2e5) {
      parallelFor(tasks, task);
    } else {
      for (Index t = 0; t < tasks; ++t) task(t);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Householder reflectors H = I − tau·v·vᵀ with v[0] = 1, LAPACK's dlarfg convention.

// Euclidean norm without overflow or harmful underflow (scaled sum of squares).
double scaledNorm(const double* x, Index count, Index stride) {
  double scale = 0.0;
  for (Index i = 0; i < count; ++i) scale = std::max(scale, std::fabs(x[i * stride]));
  if (scale == 0.0) return 0.0;
  double sum = 0.0;
  for (Index i = 0; i < count; ++i) {
    const double t = x[i * stride] / scale;
    sum += t * t;
  }
  return scale * std::sqrt(sum);
}

struct Reflector {
  double tau;    // 0 when x is already a multiple of e1 (H = I)
  double beta;   // H·x = beta·e1
  double scale;  // v[1:] = x[1:] · scale
};

Reflector makeReflector(double alpha, double tailNorm) {
  if (tailNorm == 0.0) return {0.0, alpha, 0.0};
  const double beta = -std::copysign(std::hypot(alpha, tailNorm), alpha);
  return {(beta - alpha) / beta, beta, 1.0 / (alpha - beta)};
}

// Compact WY form of the block H_0 H_1 ⋯ H_{b−1} = I − V·T·Vᵀ (dlarft, forward, columnwise).
// V is m × b row-major (unit lower trapezoidal), T is b × b upper triangular.
void blockReflectorFactor(const double* v, Index m, Index b, const double* tau, double* t) {
  std::fill(t, t + b * b, 0.0);
  std::vector<double> dots(static_cast<std::size_t>(b));
  for (Index j = 0; j < b; ++j) {
    t[j * b + j] = tau[j];
    if (j == 0 || tau[j] == 0.0) continue;
    // dots[i] = V(:, i)ᵀ V(:, j) for i < j; V(r, j) is zero above row j.
    std::fill(dots.begin(), dots.begin() + j, 0.0);
    for (Index r = j; r < m; ++r) {
      const double vrj = v[r * b + j];
      const double* vr = v + r * b;
      for (Index i = 0; i < j; ++i) dots[static_cast<std::size_t>(i)] += vr[i] * vrj;
    }
    // T(0:j, j) = −tau_j · T(0:j, 0:j) · dots
    for (Index i = 0; i < j; ++i) {
      double sum = 0.0;
      for (Index l = i; l < j; ++l) sum += t[i * b + l] * dots[static_cast<std::size_t>(l)];
      t[i * b + j] = -tau[j] * sum;
    }
  }
}

// C (m × nc, leading dimension ldc) := (I − V·op(T)·Vᵀ)·C, op(T) = Tᵀ when transposeT.
void applyBlockReflector(const double* v, Index m, Index b, const double* t, bool transposeT, double* c, Index nc,
                         Index ldc, std::vector<double>& work) {
  if (nc <= 0) return;
  work.resize(static_cast<std::size_t>(2 * b * nc));
  double* w = work.data();
  double* tw = w + b * nc;
  gemm(b, nc, m, 1.0, {v, b, true}, {c, ldc, false}, 0.0, w, nc);        // W = Vᵀ C
  gemm(b, nc, b, 1.0, {t, b, transposeT}, {w, nc, false}, 0.0, tw, nc);  // W = op(T) W
  gemm(m, nc, b, -1.0, {v, b, false}, {tw, nc, false}, 1.0, c, ldc);     // C −= V W
}

// The m × b matrix V of reflectors k0 .. k0+b−1 stored LAPACK-style below their unit entries in the
// columns of `a` (n × n): reflector k has its unit entry at row k + offset and its tail below it.
void gatherReflectors(const double* a, Index n, Index k0, Index b, Index offset, double* v) {
  const Index s = k0 + offset;
  const Index m = n - s;
  for (Index r = 0; r < m; ++r) {
    for (Index p = 0; p < b; ++p) {
      v[r * b + p] = r < p ? 0.0 : r == p ? 1.0 : a[(s + r) * n + k0 + p];
    }
  }
}

// Calls fn(v, t, m, b, s) for the blocks of at most 48 reflectors of H_0 ⋯ H_{count−1}, last block
// first: V (m × b) and T (b × b) of the block's compact WY form, s = its first row (k0 + offset).
template <typename Fn>
void forEachReflectorBlockBackward(const double* a, Index n, const double* tau, Index count, Index offset, Fn fn) {
  constexpr Index kBlock = 48;
  std::vector<double> v, t;
  const Index blocks = (count + kBlock - 1) / kBlock;
  for (Index blockIndex = blocks - 1; blockIndex >= 0; --blockIndex) {
    const Index k0 = blockIndex * kBlock;
    const Index b = std::min<Index>(kBlock, count - k0);
    const Index s = k0 + offset;
    const Index m = n - s;
    v.resize(static_cast<std::size_t>(m * b));
    t.resize(static_cast<std::size_t>(b * b));
    gatherReflectors(a, n, k0, b, offset, v.data());
    blockReflectorFactor(v.data(), m, b, tau + k0, t.data());
    fn(v.data(), t.data(), m, b, s);
  }
}

// Q = H_0 H_1 ⋯ H_{count−1} (n × n), accumulated backward in blocks so each block is GEMM work.
void formQ(const double* a, Index n, const double* tau, Index count, Index offset, double* q) {
  std::fill(q, q + n * n, 0.0);
  for (Index i = 0; i < n; ++i) q[i * n + i] = 1.0;
  std::vector<double> work;
  forEachReflectorBlockBackward(a, n, tau, count, offset,
                                [&](const double* v, const double* t, Index m, Index b, Index s) {
                                  // Q is the identity outside rows/columns ≥ s when this block is applied.
                                  applyBlockReflector(v, m, b, t, false, q + s * n + s, m, n, work);
                                });
}

// rows (nRows × n, row-major) := rows · Qᵀ for Q = H_0 ⋯ H_{count−1}, i.e. rows · H_{count−1} ⋯ H_0:
// blocks of reflectors from the last, each (H_k0 ⋯ H_k1)ᵀ = I − V Tᵀ Vᵀ applied from the right as GEMM.
// (Row j of the result is (Q x_j)ᵀ for row j = x_jᵀ: eigenvectors of T become those of A.)
void multiplyByQTranspose(const double* a, Index n, const double* tau, Index count, Index offset, double* rows,
                          Index nRows) {
  std::vector<double> w, tw;
  forEachReflectorBlockBackward(
      a, n, tau, count, offset, [&](const double* v, const double* t, Index m, Index b, Index s) {
        w.resize(static_cast<std::size_t>(nRows * b));
        tw.resize(static_cast<std::size_t>(nRows * b));
        double* c = rows + s;                                                           // columns s..n−1
        gemm(nRows, b, m, 1.0, {c, n, false}, {v, b, false}, 0.0, w.data(), b);         // W = C V
        gemm(nRows, b, b, 1.0, {w.data(), b, false}, {t, b, true}, 0.0, tw.data(), b);  // W Tᵀ
        gemm(nRows, m, b, -1.0, {tw.data(), b, false}, {v, b, true}, 1.0, c, n);        // C −= W Tᵀ Vᵀ
      });
}

// ------------------------------------------------------------------------------------------------
// Tridiagonalisation (lower triangle of a row-major n × n matrix, overwritten).

// One row of the fused pass: apply the previous step's rank-2 update (v, w) to row i's entries in
// [from, i], and accumulate the next step's product p = A·u (lower triangle used symmetrically).
RANDLAB_LINALG_CLONES
void fusedRow(double* row, Index from, Index i, const double* v, const double* w, bool update, const double* u,
              double* p) {
  const double vi = v[i];
  const double wi = w[i];
  const double ui = u[i];
  Vec8 dot = {};
  Index j = from;
  if (update) {
    for (; j + 8 <= i; j += 8) {
      Vec8 x, vj, wj, uj, pj;
      std::memcpy(&x, row + j, 64);
      std::memcpy(&vj, v + j, 64);
      std::memcpy(&wj, w + j, 64);
      std::memcpy(&uj, u + j, 64);
      std::memcpy(&pj, p + j, 64);
      x -= vi * wj + wi * vj;
      std::memcpy(row + j, &x, 64);
      dot += x * uj;
      pj += x * ui;
      std::memcpy(p + j, &pj, 64);
    }
  } else {
    for (; j + 8 <= i; j += 8) {
      Vec8 x, uj, pj;
      std::memcpy(&x, row + j, 64);
      std::memcpy(&uj, u + j, 64);
      std::memcpy(&pj, p + j, 64);
      dot += x * uj;
      pj += x * ui;
      std::memcpy(p + j, &pj, 64);
    }
  }
  double sum = 0.0;
  for (int l = 0; l < 8; ++l) sum += dot[l];
  for (; j < i; ++j) {
    double x = row[j];
    if (update) {
      x -= vi * w[j] + wi * v[j];
      row[j] = x;
    }
    sum += x * u[j];
    p[j] += x * ui;
  }
  double diagonal = row[i];
  if (update) {
    diagonal -= 2.0 * vi * wi;
    row[i] = diagonal;
  }
  p[i] += sum + diagonal * ui;
}

struct Tridiagonal {
  std::vector<double> d;    // diagonal, n
  std::vector<double> e;    // sub-diagonal, e[i] = T(i+1, i); e[n−1] = 0
  std::vector<double> tau;  // n − 2 reflectors (tau = 0: identity)
};

// p[first..n) = A·u over the lower triangle of rows/columns ≥ first (read only), on the thread pool.
// With `update`, the pending rank-2 update (v, w) is first applied to those entries (fused, one pass).
void symmetricProduct(double* a, Index n, Index first, const double* v, const double* w, bool update, const double* u,
                      double* p, std::vector<std::vector<double>>& partial) {
  const Index size = n - first;
  const int parts = size >= 192 ? static_cast<int>(partial.size()) : 1;
  auto pass = [&](std::ptrdiff_t part) {
    // Rows split so every part has about the same number of entries.
    const Index begin = first + static_cast<Index>(std::floor(size * std::sqrt(double(part) / parts)));
    const Index end = first + static_cast<Index>(std::floor(size * std::sqrt(double(part + 1) / parts)));
    double* pt = partial[static_cast<std::size_t>(part)].data();
    std::fill(pt + first, pt + n, 0.0);
    for (Index i = begin; i < end; ++i) fusedRow(a + i * n, first, i, v, w, update, u, pt);
  };
  if (parts > 1) {
    parallelFor(parts, pass);
  } else {
    pass(0);
  }
  for (Index i = first; i < n; ++i) {
    double sum = 0.0;
    for (int part = 0; part < parts; ++part)
      sum += partial[static_cast<std::size_t>(part)][static_cast<std::size_t>(i)];
    p[i] = sum;
  }
}

// Householder vector of column k (rows k+1..n−1) into v (global indexing, zero elsewhere); the tail is
// also stored scaled in a[(k+2..), k]. Records d[k], e[k], tau[k]; returns tau.
double columnReflector(double* a, Index n, Index k, Tridiagonal& out, double* v) {
  out.d[k] = a[k * n + k];
  const Reflector h = makeReflector(a[(k + 1) * n + k], scaledNorm(a + (k + 2) * n + k, n - k - 2, n));
  out.tau[k] = h.tau;
  out.e[k] = h.beta;
  std::fill(v, v + n, 0.0);
  v[k + 1] = 1.0;
  for (Index i = k + 2; i < n; ++i) {
    a[i * n + k] *= h.scale;
    v[i] = a[i * n + k];
  }
  return h.tau;
}

// Columns k0 .. k0+b−1 reduced the blocked way (LAPACK dlatrd): each column's product with the trailing
// matrix is taken with the matrix as it was at the panel's start, corrected by the panel's earlier
// reflectors, and the whole panel's update A −= V Wᵀ + W Vᵀ is applied once afterwards as GEMM. So the
// trailing matrix is only read per column (not read and written), and half the work is GEMM.
void reducePanel(double* a, Index n, Index k0, Index b, Tridiagonal& out, std::vector<std::vector<double>>& partial) {
  // X = [V | W] and Y = [W | V], n × 2b row-major, so the update is one product X·Yᵀ.
  const Index b2 = 2 * b;
  std::vector<double> x(static_cast<std::size_t>(n * b2), 0.0), y(static_cast<std::size_t>(n * b2), 0.0);
  std::vector<double> v(static_cast<std::size_t>(n)), p(static_cast<std::size_t>(n)),
      none(static_cast<std::size_t>(n), 0.0);
  std::vector<double> vw(static_cast<std::size_t>(b)), ww(static_cast<std::size_t>(b));
  auto V = [&](Index r, Index q) -> double& { return x[static_cast<std::size_t>(r * b2 + q)]; };
  auto W = [&](Index r, Index q) -> double& { return x[static_cast<std::size_t>(r * b2 + b + q)]; };
  for (Index i = 0; i < b; ++i) {
    const Index k = k0 + i;
    for (Index r = k; r < n; ++r) {
      double correction = 0.0;
      for (Index q = 0; q < i; ++q) correction += V(r, q) * W(k, q) + W(r, q) * V(k, q);
      a[r * n + k] -= correction;
    }
    const double tau = columnReflector(a, n, k, out, v.data());
    for (Index r = k + 1; r < n; ++r) V(r, i) = v[static_cast<std::size_t>(r)];
    if (tau == 0.0) continue;  // W(:, i) stays 0
    symmetricProduct(a, n, k + 1, none.data(), none.data(), false, v.data(), p.data(), partial);
    // p −= V (Wᵀv) + W (Vᵀv) over the panel's earlier reflectors.
    std::fill(vw.begin(), vw.end(), 0.0);
    std::fill(ww.begin(), ww.end(), 0.0);
    for (Index r = k + 1; r < n; ++r) {
      for (Index q = 0; q < i; ++q) {
        ww[static_cast<std::size_t>(q)] += W(r, q) * v[static_cast<std::size_t>(r)];
        vw[static_cast<std::size_t>(q)] += V(r, q) * v[static_cast<std::size_t>(r)];
      }
    }
    double pv = 0.0;
    for (Index r = k + 1; r < n; ++r) {
      double sum = p[static_cast<std::size_t>(r)];
      for (Index q = 0; q < i; ++q)
        sum -= V(r, q) * ww[static_cast<std::size_t>(q)] + W(r, q) * vw[static_cast<std::size_t>(q)];
      sum *= tau;
      p[static_cast<std::size_t>(r)] = sum;
      pv += sum * v[static_cast<std::size_t>(r)];
    }
    const double shift = -0.5 * tau * pv;
    for (Index r = k + 1; r < n; ++r) W(r, i) = p[static_cast<std::size_t>(r)] + shift * v[static_cast<std::size_t>(r)];
  }
  for (Index r = 0; r < n; ++r) {
    std::memcpy(y.data() + r * b2, x.data() + r * b2 + b, sizeof(double) * b);
    std::memcpy(y.data() + r * b2 + b, x.data() + r * b2, sizeof(double) * b);
  }
  // Lower triangle of rows/columns ≥ s, one block of rows at a time (the diagonal blocks are computed
  // whole; their upper parts are never read).
  const Index s = k0 + b;
  constexpr Index kRows = 192;
  for (Index r0 = s; r0 < n; r0 += kRows) {
    const Index r1 = std::min(n, r0 + kRows);
    gemm(r1 - r0, r1 - s, b2, -1.0, {x.data() + r0 * b2, b2, false}, {y.data() + s * b2, b2, true}, 1.0, a + r0 * n + s,
         n);
  }
}

// On return the reflector tails v_k[2:] lie in a[(k+2..n−1), k]; v_k[1] = 1 is implicit.
Tridiagonal tridiagonalise(double* a, Index n) {
  Tridiagonal out{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0),
                  std::vector<double>(std::max<Index>(n - 2, 0), 0.0)};
  const int threads = threadCount();
  std::vector<std::vector<double>> partial(static_cast<std::size_t>(threads), std::vector<double>(n, 0.0));
  // Blocked panels while the trailing matrix is large; the last columns one by one (fused).
  constexpr Index kPanel = 32;
  Index start = 0;
  while (n - start > 4 * kPanel) {
    reducePanel(a, n, start, kPanel, out, partial);
    start += kPanel;
  }
  std::vector<double> v(n, 0.0), w(n, 0.0), vNext(n, 0.0), p(n, 0.0);
  bool pending = false;  // a rank-2 update (v, w) not yet applied to rows/columns ≥ k

  for (Index k = start; k + 2 < n; ++k) {
    if (pending) {
      for (Index i = k; i < n; ++i) a[i * n + k] -= v[i] * w[k] + w[i] * v[k];
    }
    const double tau = columnReflector(a, n, k, out, vNext.data());
    // Fused pass over rows/columns ≥ k+1: finish the pending update and compute p = A·vNext.
    symmetricProduct(a, n, k + 1, v.data(), w.data(), pending, vNext.data(), p.data(), partial);
    std::swap(v, vNext);
    pending = tau != 0.0;
    if (pending) {
      const Index first = k + 1;
      double pv = 0.0;
      for (Index i = first; i < n; ++i) {
        p[i] *= tau;
        pv += p[i] * v[i];
      }
      const double shift = -0.5 * tau * pv;
      std::fill(w.begin(), w.end(), 0.0);
      for (Index i = first; i < n; ++i) w[i] = p[i] + shift * v[i];
    }
  }
  if (n >= 2) {
    const Index k = n - 2;
    if (pending) {
      for (Index i = k; i < n; ++i) {
        for (Index j = k; j <= i; ++j) a[i * n + j] -= v[i] * w[j] + w[i] * v[j];
      }
    }
    out.d[k] = a[k * n + k];
    out.e[k] = a[(k + 1) * n + k];
    out.d[k + 1] = a[(k + 1) * n + k + 1];
  } else if (n == 1) {
    out.d[0] = a[0];
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Implicit QL on the tridiagonal (d, e), rotating the rows of Z = Qᵀ in batches.

struct Rotation {
  Index i;  // rows i and i+1 of Z
  double c, s;
};

constexpr Index kStrip = 32;  // columns of Z per strip: n × 32 doubles stay in L2 across a batch

// Applies the rotations in order to columns [j0, j0 + width) of z. Consecutive rotations of a QL
// sweep act on rows (i, i+1) then (i−1, i): the shared row stays in registers between them, so a
// rotation loads and stores one row instead of two.
RANDLAB_LINALG_CLONES
void rotateFullStrip(double* z, Index n, Index j0, const Rotation* rotations, std::size_t count) {
  constexpr int kVectors = kStrip / 8;
  Vec8 carry[kVectors];
  Index carryRow = -1;  // carry holds the current values of this row, not yet stored
  auto load = [&](Index row, Vec8* out) { std::memcpy(out, z + row * n + j0, sizeof(Vec8) * kVectors); };
  auto store = [&](Index row, const Vec8* in) { std::memcpy(z + row * n + j0, in, sizeof(Vec8) * kVectors); };
  for (std::size_t r = 0; r < count; ++r) {
    const Index i = rotations[r].i;
    const double c = rotations[r].c;
    const double s = rotations[r].s;
    Vec8 lo[kVectors], hi[kVectors];
    if (carryRow == i + 1) {
      std::memcpy(hi, carry, sizeof(hi));
    } else {
      if (carryRow >= 0) store(carryRow, carry);
      load(i + 1, hi);
    }
    load(i, lo);
    for (int v = 0; v < kVectors; ++v) {
      const Vec8 newHi = s * lo[v] + c * hi[v];
      carry[v] = c * lo[v] - s * hi[v];
      hi[v] = newHi;
    }
    store(i + 1, hi);
    carryRow = i;
  }
  if (carryRow >= 0) store(carryRow, carry);
}

void rotatePartialStrip(double* z, Index n, Index j0, Index width, const Rotation* rotations, std::size_t count) {
  for (std::size_t r = 0; r < count; ++r) {
    const Rotation& rot = rotations[r];
    double* lo = z + rot.i * n + j0;
    double* hi = lo + n;
    for (Index j = 0; j < width; ++j) {
      const double h = hi[j];
      hi[j] = rot.s * lo[j] + rot.c * h;
      lo[j] = rot.c * lo[j] - rot.s * h;
    }
  }
}

void applyRotations(double* z, Index n, std::vector<Rotation>& rotations) {
  if (rotations.empty()) return;
  const Index strips = (n + kStrip - 1) / kStrip;
  parallelFor(strips, [&](std::ptrdiff_t strip) {
    const Index j0 = strip * kStrip;
    const Index width = std::min<Index>(kStrip, n - j0);
    if (width == kStrip) {
      rotateFullStrip(z, n, j0, rotations.data(), rotations.size());
    } else {
      rotatePartialStrip(z, n, j0, width, rotations.data(), rotations.size());
    }
  });
  rotations.clear();
}

// EISPACK tql2 (as in JAMA): eigenvalues into d; returns false if an eigenvalue fails to converge
// in 30 iterations.
bool tridiagonalQl(std::vector<double>& d, std::vector<double>& e, double* z, Index n) {
  constexpr std::size_t kBatch = std::size_t(1) << 18;
  std::vector<Rotation> rotations;
  rotations.reserve(kBatch + static_cast<std::size_t>(n));
  double f = 0.0;
  double tst1 = 0.0;
  const double eps = std::numeric_limits<double>::epsilon();
  for (Index l = 0; l < n; ++l) {
    tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
    Index m = l;
    while (m < n - 1 && std::fabs(e[m]) > eps * tst1) ++m;
    if (m > l) {
      int iterations = 0;
      do {
        if (++iterations > 30) return false;
        double g = d[l];
        double p = (d[l + 1] - g) / (2.0 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const double dl1 = d[l + 1];
        double h = g - d[l];
        for (Index i = l + 2; i < n; ++i) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1.0, c2 = 1.0, c3 = 1.0;
        const double el1 = e[l + 1];
        double s = 0.0, s2 = 0.0;
        for (Index i = m - 1; i >= l; --i) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          rotations.push_back({i, c, s});
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (std::fabs(e[l]) > eps * tst1);
      if (rotations.size() >= kBatch) applyRotations(z, n, rotations);
    }
    d[l] += f;
    e[l] = 0.0;
  }
  applyRotations(z, n, rotations);
  return true;
}

// ------------------------------------------------------------------------------------------------
// Divide and conquer on the tridiagonal (Cuppen 1981; Gu & Eisenstat 1995; LAPACK dstedc/dlaed*).
//
// T = diag(T1', T2') + ρ·u·uᵀ with u = e_{k−1} + e_k and ρ = e[k−1] (T1', T2' have ρ subtracted from
// the touching diagonal entries). With T1' = Q1 D1 Q1ᵀ and T2' = Q2 D2 Q2ᵀ solved recursively,
// T = Q (D + ρ z zᵀ) Qᵀ, Q = diag(Q1, Q2), z = Qᵀu. The rank-one problem is deflated (tiny z_i, or
// close d_i rotated together), its secular equation 1 + ρ Σ z_i²/(d_i − λ) = 0 solved root by root
// relative to the nearer pole (so every d_i − λ_j is accurate), z recomputed from the roots (Gu–Eisenstat,
// which makes the eigenvectors orthogonal to working precision), and the eigenvectors multiplied back
// with one GEMM. Small blocks use the QL iteration.
//
// Eigenvectors are rows throughout ("Zt": row j is the eigenvector of value j), so that rotations and
// the final products touch contiguous memory.

constexpr Index kLeafSize = 32;

// Root j of 1 + rho·Σ w_i/(pole_i − λ) = 0 (poles ascending, w_i = z_i² > 0, rho > 0), as
// λ = pole[origin] + tau with origin the nearer pole of its interval.
struct SecularRoot {
  Index origin;
  double tau;
};

// g(τ) = 1 + rho·Σ w_i / ((pole_i − pole_o) − τ) and its derivative.
void secularValue(const double* poles, const double* w, Index k, Index origin, double rho, double tau, double* g,
                  double* dg) {
  const double base = poles[origin];
  double sum = 0.0;
  double derivative = 0.0;
  for (Index i = 0; i < k; ++i) {
    const double difference = (poles[i] - base) - tau;
    const double term = w[i] / difference;
    sum += term;
    derivative += term / difference;
  }
  *g = 1.0 + rho * sum;
  *dg = rho * derivative;
}

SecularRoot solveSecular(const double* poles, const double* w, Index k, double rho, double weightSum, Index j) {
  const double eps = std::numeric_limits<double>::epsilon();
  Index origin = j;
  double low, high;  // bracket for τ, relative to poles[origin]
  if (j == k - 1) {
    low = 0.0;
    high = rho * weightSum;
  } else {
    const double gap = poles[j + 1] - poles[j];
    double g, dg;
    secularValue(poles, w, k, j, rho, 0.5 * gap, &g, &dg);
    if (g >= 0) {
      low = 0.0;
      high = 0.5 * gap;
    } else {
      origin = j + 1;
      low = -0.5 * gap;
      high = 0.0;
    }
  }
  // Safeguarded Newton: g is increasing on the bracket, so its sign tells which side the root is on.
  double tau = 0.5 * (low + high);
  for (int iteration = 0; iteration < 400; ++iteration) {
    double g, dg;
    secularValue(poles, w, k, origin, rho, tau, &g, &dg);
    if (g == 0.0) break;
    if (g < 0) {
      low = tau;
    } else {
      high = tau;
    }
    if (high - low <= 2.0 * eps * std::max(std::fabs(low), std::fabs(high))) break;
    double next = tau - g / dg;
    if (!(next > low && next < high)) next = 0.5 * (low + high);
    if (next == tau) break;
    tau = next;
  }
  return {origin, tau};
}

// Zt (m × m, rows = eigenvectors) and ascending values d of the symmetric tridiagonal (d, e) of size m.
// Returns false if a QL leaf fails to converge.
bool divideAndConquer(double* d, double* e, Index m, double* zt);

bool solveLeaf(double* d, double* e, Index m, double* zt) {
  std::vector<double> dv(d, d + m), ev(e, e + m);
  ev[static_cast<std::size_t>(m - 1)] = 0.0;
  std::vector<double> z(static_cast<std::size_t>(m * m), 0.0);
  for (Index i = 0; i < m; ++i) z[static_cast<std::size_t>(i * m + i)] = 1.0;
  if (!tridiagonalQl(dv, ev, z.data(), m)) return false;
  std::vector<Index> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index x, Index y) { return dv[x] < dv[y]; });
  for (Index i = 0; i < m; ++i) {
    const Index src = order[static_cast<std::size_t>(i)];
    d[i] = dv[static_cast<std::size_t>(src)];
    std::memcpy(zt + i * m, z.data() + src * m, sizeof(double) * m);
  }
  return true;
}

// Merges the solved halves: d[0..m) holds D1 then D2 ascending within each half, zt1 (m1 × m1) and zt2
// (m2 × m2) their eigenvectors as rows; rho couples rows m1−1 and m1. Writes Zt (m × m) and ascending d.
void mergeRankOne(double* d, Index m, Index m1, double rho, const double* zt1, const double* zt2, double* zt) {
  const Index m2 = m - m1;
  const double eps = std::numeric_limits<double>::epsilon();
  const double sign = rho < 0 ? -1.0 : 1.0;
  // D + ρ z zᵀ = sign·(Dw + ρw ẑ ẑᵀ) with ρw = 2|ρ| > 0 and ẑ = z/√2 a unit vector.
  const double rhoW = 2.0 * std::fabs(rho);
  std::vector<double> dw(static_cast<std::size_t>(m)), zv(static_cast<std::size_t>(m));
  // Rows of Qt (m × m): the eigenvectors of the halves, padded with zeros to length m.
  std::vector<double> qt(static_cast<std::size_t>(m * m), 0.0);
  for (Index k = 0; k < m1; ++k) {
    std::memcpy(qt.data() + k * m, zt1 + k * m1, sizeof(double) * m1);
    zv[static_cast<std::size_t>(k)] = zt1[k * m1 + m1 - 1] * M_SQRT1_2;
  }
  for (Index k = 0; k < m2; ++k) {
    std::memcpy(qt.data() + (m1 + k) * m + m1, zt2 + k * m2, sizeof(double) * m2);
    zv[static_cast<std::size_t>(m1 + k)] = zt2[k * m2] * M_SQRT1_2;
  }
  for (Index k = 0; k < m; ++k) dw[static_cast<std::size_t>(k)] = sign * d[k];
  std::vector<Index> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index x, Index y) { return dw[x] < dw[y]; });

  double maxD = 0.0, maxZ = 0.0;
  for (Index k = 0; k < m; ++k) {
    maxD = std::max(maxD, std::fabs(dw[static_cast<std::size_t>(k)]));
    maxZ = std::max(maxZ, std::fabs(zv[static_cast<std::size_t>(k)]));
  }
  const double tol = 8.0 * eps * std::max(maxD, rhoW * maxZ);

  // Deflation, in ascending order of Dw. Candidates keep (index, value, z); deflated ones are final.
  std::vector<Index> candidates, deflated;
  candidates.reserve(static_cast<std::size_t>(m));
  for (Index position = 0; position < m; ++position) {
    const Index k = order[static_cast<std::size_t>(position)];
    const std::size_t ks = static_cast<std::size_t>(k);
    if (rhoW * std::fabs(zv[ks]) <= tol) {
      deflated.push_back(k);
      continue;
    }
    if (!candidates.empty()) {
      const Index j = candidates.back();
      const std::size_t js = static_cast<std::size_t>(j);
      const double r = std::hypot(zv[js], zv[ks]);
      const double c = zv[ks] / r;
      const double s = zv[js] / r;
      if (std::fabs((dw[ks] - dw[js]) * c * s) <= tol) {
        // Rotate (j, k) so z_j becomes 0: j deflates, k carries r.
        double* rowJ = qt.data() + j * m;
        double* rowK = qt.data() + k * m;
        for (Index t = 0; t < m; ++t) {
          const double a = rowJ[t];
          const double b = rowK[t];
          rowJ[t] = c * a - s * b;
          rowK[t] = s * a + c * b;
        }
        const double dj = dw[js];
        const double dk = dw[ks];
        dw[js] = c * c * dj + s * s * dk;
        dw[ks] = s * s * dj + c * c * dk;
        zv[js] = 0.0;
        zv[ks] = r;
        candidates.back() = k;
        deflated.push_back(j);
        continue;
      }
    }
    candidates.push_back(k);
  }
  // Rotations can nudge values: keep the poles strictly ordered.
  std::stable_sort(candidates.begin(), candidates.end(), [&](Index x, Index y) { return dw[x] < dw[y]; });
  const Index kc = static_cast<Index>(candidates.size());
  std::vector<double> poles(static_cast<std::size_t>(kc)), weights(static_cast<std::size_t>(kc)),
      zs(static_cast<std::size_t>(kc));
  double weightSum = 0.0;
  for (Index i = 0; i < kc; ++i) {
    const std::size_t c = static_cast<std::size_t>(candidates[static_cast<std::size_t>(i)]);
    poles[static_cast<std::size_t>(i)] = dw[c];
    zs[static_cast<std::size_t>(i)] = zv[c];
    weights[static_cast<std::size_t>(i)] = zv[c] * zv[c];
    weightSum += zv[c] * zv[c];
  }

  // Roots, then Gu–Eisenstat ẑ, then the eigenvectors U (row j = eigenvector j of the rank-one problem).
  std::vector<SecularRoot> roots(static_cast<std::size_t>(kc));
  auto forRange = [&](Index count, const std::function<void(std::ptrdiff_t, std::ptrdiff_t)>& fn) {
    if (count * count >= 1 << 14) {
      parallelRange(count, fn);
    } else {
      fn(0, count);
    }
  };
  forRange(kc, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (Index j = begin; j < end; ++j) {
      roots[static_cast<std::size_t>(j)] = solveSecular(poles.data(), weights.data(), kc, rhoW, weightSum, j);
    }
  });
  // pole_i − λ_j, accurate because λ_j is stored relative to its nearer pole.
  auto poleMinusRoot = [&](Index i, Index j) {
    const SecularRoot& root = roots[static_cast<std::size_t>(j)];
    return (poles[static_cast<std::size_t>(i)] - poles[static_cast<std::size_t>(root.origin)]) - root.tau;
  };
  std::vector<double> zHat(static_cast<std::size_t>(kc));
  forRange(kc, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (Index i = begin; i < end; ++i) {
      // ẑ_i² = −Π_j (pole_i − λ_j) / (ρw Π_{j≠i} (pole_i − pole_j)), as a product of O(1) ratios.
      double product = poleMinusRoot(i, i);
      for (Index j = 0; j < kc; ++j) {
        if (j == i) continue;
        product *= poleMinusRoot(i, j) / (poles[static_cast<std::size_t>(i)] - poles[static_cast<std::size_t>(j)]);
      }
      const double magnitude = std::sqrt(std::max(-product / rhoW, 0.0));
      zHat[static_cast<std::size_t>(i)] = std::copysign(magnitude, zs[static_cast<std::size_t>(i)]);
    }
  });
  std::vector<double> u(static_cast<std::size_t>(kc * kc));
  forRange(kc, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (Index j = begin; j < end; ++j) {
      double* row = u.data() + j * kc;
      double largest = 0.0;
      for (Index i = 0; i < kc; ++i) {
        row[i] = zHat[static_cast<std::size_t>(i)] / poleMinusRoot(i, j);
        largest = std::max(largest, std::fabs(row[i]));
      }
      double norm = 0.0;  // of row / largest, which cannot overflow
      for (Index i = 0; i < kc; ++i) {
        row[i] /= largest;
        norm += row[i] * row[i];
      }
      const double scale = 1.0 / std::sqrt(norm);
      for (Index i = 0; i < kc; ++i) row[i] *= scale;
    }
  });

  // New eigenvectors: U · Qt[candidates]; deflated ones are rows of Qt as they are.
  std::vector<double> qc(static_cast<std::size_t>(kc * m));
  for (Index i = 0; i < kc; ++i) {
    std::memcpy(qc.data() + i * m, qt.data() + candidates[static_cast<std::size_t>(i)] * m, sizeof(double) * m);
  }
  std::vector<double> merged(static_cast<std::size_t>(kc * m));
  gemm(kc, m, kc, 1.0, {u.data(), kc, false}, {qc.data(), m, false}, 0.0, merged.data(), m);

  // All m eigenpairs, sorted ascending in the original sign.
  struct Pair {
    double value;
    const double* row;
  };
  std::vector<Pair> pairs;
  pairs.reserve(static_cast<std::size_t>(m));
  for (Index j = 0; j < kc; ++j) {
    const SecularRoot& root = roots[static_cast<std::size_t>(j)];
    pairs.push_back({sign * (poles[static_cast<std::size_t>(root.origin)] + root.tau), merged.data() + j * m});
  }
  for (const Index k : deflated) pairs.push_back({sign * dw[static_cast<std::size_t>(k)], qt.data() + k * m});
  std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) { return x.value < y.value; });
  for (Index i = 0; i < m; ++i) {
    d[i] = pairs[static_cast<std::size_t>(i)].value;
    std::memcpy(zt + i * m, pairs[static_cast<std::size_t>(i)].row, sizeof(double) * m);
  }
}

bool divideAndConquer(double* d, double* e, Index m, double* zt) {
  if (m <= kLeafSize) return solveLeaf(d, e, m, zt);
  const Index m1 = m / 2;
  const Index m2 = m - m1;
  const double rho = e[m1 - 1];
  d[m1 - 1] -= rho;
  d[m1] -= rho;
  std::vector<double> zt1(static_cast<std::size_t>(m1 * m1)), zt2(static_cast<std::size_t>(m2 * m2));
  if (!divideAndConquer(d, e, m1, zt1.data()) || !divideAndConquer(d + m1, e + m1, m2, zt2.data())) return false;
  mergeRankOne(d, m, m1, rho, zt1.data(), zt2.data(), zt);
  return true;
}

// Signs each row so its largest-magnitude entry is positive.
void signRows(double* rows, Index n) {
  for (Index i = 0; i < n; ++i) {
    double* row = rows + i * n;
    Index largest = 0;
    for (Index j = 1; j < n; ++j) {
      if (std::fabs(row[j]) > std::fabs(row[largest])) largest = j;
    }
    if (row[largest] < 0) {
      for (Index j = 0; j < n; ++j) row[j] = -row[j];
    }
  }
}

// Returns false when a QL leaf does not converge (not seen for finite symmetric input).
bool symmetricEigen(const double* input, Index n, double* values, double* vectors) {
  if (n == 0) return true;
  std::vector<double> a(input, input + n * n);
  Tridiagonal t = tridiagonalise(a.data(), n);
  // Divide and conquer on T scaled to entries of order 1 (by a power of two, so exactly), so that no
  // intermediate over- or underflows whatever A's scale.
  double largest = 0.0;
  for (Index i = 0; i < n; ++i) largest = std::max({largest, std::fabs(t.d[i]), std::fabs(t.e[i])});
  const double scale = largest == 0.0 ? 1.0 : std::ldexp(1.0, std::ilogb(largest));
  for (Index i = 0; i < n; ++i) {
    t.d[i] /= scale;
    t.e[i] /= scale;
  }
  if (!divideAndConquer(t.d.data(), t.e.data(), n, vectors)) return false;
  for (Index i = 0; i < n; ++i) t.d[i] *= scale;
  multiplyByQTranspose(a.data(), n, t.tau.data(), std::max<Index>(n - 2, 0), 1, vectors, n);
  std::memcpy(values, t.d.data(), sizeof(double) * n);
  signRows(vectors, n);
  return true;
}

// ------------------------------------------------------------------------------------------------
// Householder QR: the orthogonal factor Q of a = Q·R with R's diagonal made positive (so that for a
// Gaussian `a`, Q is Haar-distributed: Mezzadri, Notices AMS 2007).

void orthogonalFactor(const double* input, Index n, double* q) {
  std::vector<double> matrix(input, input + n * n);
  double* a = matrix.data();
  std::vector<double> tau(static_cast<std::size_t>(n), 0.0);
  std::vector<double> diagonal(static_cast<std::size_t>(n), 0.0);
  constexpr Index kPanel = 32;
  std::vector<double> v, t, work, rowWork(static_cast<std::size_t>(n));
  for (Index k0 = 0; k0 < n; k0 += kPanel) {
    const Index b = std::min<Index>(kPanel, n - k0);
    const Index panelEnd = k0 + b;
    // Unblocked factorisation of the panel columns k0 .. panelEnd−1.
    for (Index k = k0; k < panelEnd; ++k) {
      const Reflector h = makeReflector(a[k * n + k], scaledNorm(a + (k + 1) * n + k, n - k - 1, n));
      tau[static_cast<std::size_t>(k)] = h.tau;
      diagonal[static_cast<std::size_t>(k)] = h.beta;
      for (Index i = k + 1; i < n; ++i) a[i * n + k] *= h.scale;
      a[k * n + k] = h.beta;
      if (h.tau == 0.0) continue;
      // Panel columns right of k: x −= tau · v (vᵀ x).
      for (Index j = k + 1; j < panelEnd; ++j) {
        double dot = a[k * n + j];
        for (Index i = k + 1; i < n; ++i) dot += a[i * n + k] * a[i * n + j];
        dot *= h.tau;
        a[k * n + j] -= dot;
        for (Index i = k + 1; i < n; ++i) a[i * n + j] -= dot * a[i * n + k];
      }
    }
    // Trailing columns: C := (H_k0 ⋯ H_{panelEnd−1})ᵀ C = (I − V Tᵀ Vᵀ) C.
    if (panelEnd < n) {
      const Index m = n - k0;
      v.resize(static_cast<std::size_t>(m * b));
      t.resize(static_cast<std::size_t>(b * b));
      gatherReflectors(a, n, k0, b, 0, v.data());
      blockReflectorFactor(v.data(), m, b, tau.data() + k0, t.data());
      applyBlockReflector(v.data(), m, b, t.data(), true, a + k0 * n + panelEnd, n - panelEnd, n, work);
    }
  }
  formQ(a, n, tau.data(), n, 0, q);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n; ++j) {
      if (diagonal[static_cast<std::size_t>(j)] < 0) q[i * n + j] = -q[i * n + j];
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Node-API exports. Arguments are checked here; errors name the function and the argument.

Napi::Value fail(const Napi::Env& env, const std::string& message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool readFloat64Array(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
                      Napi::Float64Array* out) {
  if (info.Length() <= index || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    fail(info.Env(), std::string(fn) + ": " + name + " must be a Float64Array");
    return false;
  }
  *out = info[index].As<Napi::Float64Array>();
  return true;
}

bool readSize(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name, Index* out) {
  if (info.Length() <= index || !info[index].IsNumber()) {
    fail(info.Env(), std::string(fn) + ": " + name + " must be a number");
    return false;
  }
  const double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= 0) || value != std::floor(value) || value > 1e9) {
    fail(info.Env(), std::string(fn) + ": " + name + " must be a non-negative integer, got " + std::to_string(value));
    return false;
  }
  *out = static_cast<Index>(value);
  return true;
}

bool requireLength(const Napi::Env& env, const char* fn, const char* name, const Napi::Float64Array& array,
                   Index expected) {
  if (static_cast<Index>(array.ElementLength()) != expected) {
    fail(env, std::string(fn) + ": " + name + " has " + std::to_string(array.ElementLength()) + " elements, expected " +
                  std::to_string(expected));
    return false;
  }
  return true;
}

// symmetricEigen(a: Float64Array (n·n, symmetric; only the lower triangle is read), n) →
//   { values: Float64Array(n) ascending, vectors: Float64Array(n·n), row i = eigenvector of values[i] }
Napi::Value SymmetricEigenExport(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float64Array a;
  Index n;
  if (!readFloat64Array(info, 0, "symmetricEigen", "a", &a) || !readSize(info, 1, "symmetricEigen", "n", &n) ||
      !requireLength(env, "symmetricEigen", "a", a, n * n)) {
    return env.Undefined();
  }
  for (Index i = 0; i < n * n; ++i) {
    if (!std::isfinite(a.Data()[i])) {
      return fail(env, "symmetricEigen: a has a non-finite entry at index " + std::to_string(i));
    }
  }
  Napi::Float64Array values = Napi::Float64Array::New(env, static_cast<size_t>(n));
  Napi::Float64Array vectors = Napi::Float64Array::New(env, static_cast<size_t>(n * n));
  if (!symmetricEigen(a.Data(), n, values.Data(), vectors.Data())) {
    return fail(env, "symmetricEigen: the QL iteration did not converge");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("values", values);
  result.Set("vectors", vectors);
  return result;
}
RANDLAB_EXPORT(symmetricEigen, SymmetricEigenExport);

// gemmF64(a, b, c, m, n, k, transA, transB, alpha, beta): C = alpha·op(A)·op(B) + beta·C, row-major,
// A stored [m,k] (or [k,m] if transA), B [k,n] (or [n,k] if transB), C [m,n].
Napi::Value GemmF64Export(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const char* fn = "gemmF64";
  Napi::Float64Array a, b, c;
  Index m, n, k;
  if (!readFloat64Array(info, 0, fn, "a", &a) || !readFloat64Array(info, 1, fn, "b", &b) ||
      !readFloat64Array(info, 2, fn, "c", &c) || !readSize(info, 3, fn, "m", &m) || !readSize(info, 4, fn, "n", &n) ||
      !readSize(info, 5, fn, "k", &k)) {
    return env.Undefined();
  }
  if (info.Length() < 10 || !info[6].IsBoolean() || !info[7].IsBoolean() || !info[8].IsNumber() ||
      !info[9].IsNumber()) {
    return fail(env, "gemmF64: expected (a, b, c, m, n, k, transA: boolean, transB: boolean, alpha, beta)");
  }
  const bool transA = info[6].As<Napi::Boolean>().Value();
  const bool transB = info[7].As<Napi::Boolean>().Value();
  const double alpha = info[8].As<Napi::Number>().DoubleValue();
  const double beta = info[9].As<Napi::Number>().DoubleValue();
  if (!requireLength(env, fn, "a", a, m * k) || !requireLength(env, fn, "b", b, k * n) ||
      !requireLength(env, fn, "c", c, m * n)) {
    return env.Undefined();
  }
  gemm(m, n, k, alpha, {a.Data(), transA ? m : k, transA}, {b.Data(), transB ? k : n, transB}, beta, c.Data(), n);
  return env.Undefined();
}
RANDLAB_EXPORT(gemmF64, GemmF64Export);

// orthogonalFactor(a: Float64Array (n·n), n) → Float64Array(n·n): Q of a = Q·R with diag(R) ≥ 0.
Napi::Value OrthogonalFactorExport(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Float64Array a;
  Index n;
  if (!readFloat64Array(info, 0, "orthogonalFactor", "a", &a) || !readSize(info, 1, "orthogonalFactor", "n", &n) ||
      !requireLength(env, "orthogonalFactor", "a", a, n * n)) {
    return env.Undefined();
  }
  Napi::Float64Array q = Napi::Float64Array::New(env, static_cast<size_t>(n * n));
  orthogonalFactor(a.Data(), n, q.Data());
  return q;
}
RANDLAB_EXPORT(orthogonalFactor, OrthogonalFactorExport);

}  // namespace
}  // namespace linalg
}  // namespace randlab

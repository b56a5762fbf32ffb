// Infrastructure (no TypeScript reference of its own): Householder reflectors and their compact-WY
// blocks (linalg_householder.h), shared by the native forms of src/linalg/eigen.ts (linalg_eigen*.cc)
// and src/linalg/orthogonal.ts (linalg_orthogonal.cc).
#include "linalg_householder.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace randlab {
namespace linalg {
namespace {

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

}  // namespace

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

Reflector makeReflector(double alpha, double tailNorm) {
  if (tailNorm == 0.0) return {0.0, alpha, 0.0};
  const double beta = -std::copysign(std::hypot(alpha, tailNorm), alpha);
  return {(beta - alpha) / beta, beta, 1.0 / (alpha - beta)};
}

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

void gatherReflectors(const double* a, Index n, Index k0, Index b, Index offset, double* v) {
  const Index s = k0 + offset;
  const Index m = n - s;
  for (Index r = 0; r < m; ++r) {
    for (Index p = 0; p < b; ++p) {
      v[r * b + p] = r < p ? 0.0 : r == p ? 1.0 : a[(s + r) * n + k0 + p];
    }
  }
}

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

}  // namespace linalg
}  // namespace randlab

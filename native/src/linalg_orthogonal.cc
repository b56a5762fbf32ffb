// Implements src/linalg/orthogonal.ts (orthogonalFactor): the orthogonal factor Q of a Householder
// QR decomposition a = Q·R with R's diagonal made positive, so that for a Gaussian `a`, Q is
// Haar-distributed (Mezzadri, Notices AMS 2007); exported as orthogonalFactor(a, n).
//
// Panels of 32 columns are factored column by column; the panel's reflectors are then applied to the
// trailing columns at once in compact-WY form (linalg_householder.h), and Q is accumulated the same
// way, so most of the work is GEMM.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernel_args.h"
#include "linalg_householder.h"
#include "linalg_matrix.h"

namespace randlab {
namespace linalg {
namespace {

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

}  // namespace
}  // namespace linalg

// orthogonalFactor(a: Float64Array (n·n), n) → Float64Array(n·n): Q of a = Q·R with diag(R) ≥ 0.
RANDLAB_KERNEL(orthogonalFactor) {
  const auto [a, n] = linalg::readSquareMatrix(args);
  Napi::Float64Array q = Napi::Float64Array::New(args.env(), static_cast<std::size_t>(n * n));
  linalg::orthogonalFactor(a, n, q.Data());
  return q;
}

}  // namespace randlab

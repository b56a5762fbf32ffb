// Implements the first stage of src/linalg/eigen.ts (symmetricEigen): Householder tridiagonalisation
// A = Q T Qᵀ of the lower triangle (LAPACK dsytrd; linalg_eigen.h).
//
// Panels of 32 columns are reduced the blocked way (dlatrd), so their trailing update is one GEMM;
// each column's matrix–vector product reads the trailing matrix once, split over the thread pool.
// The last 128 columns go one by one, each step's rank-2 update fused with the next step's product
// (fusedRow, run compiled for the active SIMD level).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "linalg_eigen.h"
#include "linalg_householder.h"
#include "simd_dispatch.h"
#include "threadpool.h"

namespace randlab {
namespace linalg {
namespace {

// One row of the fused pass: apply the previous step's rank-2 update (v, w) to row i's entries in
// [from, i], and accumulate the next step's product p = A·u (lower triangle used symmetrically).
// Eight entries per step as 8 / W vectors of W doubles (kDoublesPerVector), so the dot product's
// eight lanes are summed in the same order at every SIMD level.
template <int W>
void fusedRow(double* row, Index from, Index i, const double* v, const double* w, bool update, const double* u,
              double* p) {
  using Vector = typename DoubleVector<W>::type;
  constexpr int kVectors = 8 / W;
  constexpr std::size_t kBytes = sizeof(Vector);
  const double vi = v[i];
  const double wi = w[i];
  const double ui = u[i];
  Vector dot[kVectors] = {};
  Index j = from;
  if (update) {
    for (; j + 8 <= i; j += 8) {
      for (int q = 0; q < kVectors; ++q) {
        const Index at = j + q * W;
        Vector x, vj, wj, uj, pj;
        std::memcpy(&x, row + at, kBytes);
        std::memcpy(&vj, v + at, kBytes);
        std::memcpy(&wj, w + at, kBytes);
        std::memcpy(&uj, u + at, kBytes);
        std::memcpy(&pj, p + at, kBytes);
        x -= vi * wj + wi * vj;
        std::memcpy(row + at, &x, kBytes);
        dot[q] += x * uj;
        pj += x * ui;
        std::memcpy(p + at, &pj, kBytes);
      }
    }
  } else {
    for (; j + 8 <= i; j += 8) {
      for (int q = 0; q < kVectors; ++q) {
        const Index at = j + q * W;
        Vector x, uj, pj;
        std::memcpy(&x, row + at, kBytes);
        std::memcpy(&uj, u + at, kBytes);
        std::memcpy(&pj, p + at, kBytes);
        dot[q] += x * uj;
        pj += x * ui;
        std::memcpy(p + at, &pj, kBytes);
      }
    }
  }
  double lanes[8];
  std::memcpy(lanes, dot, sizeof(lanes));
  double sum = 0.0;
  for (int l = 0; l < 8; ++l) sum += lanes[l];
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
    simdDispatch([&](auto level) {
      constexpr int kLanes = kDoublesPerVector<decltype(level)::value>;
      for (Index i = begin; i < end; ++i) fusedRow<kLanes>(a + i * n, first, i, v, w, update, u, pt);
    });
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

}  // namespace

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

}  // namespace linalg
}  // namespace randlab

// Implements the second stage of src/linalg/eigen.ts (symmetricEigen): the eigenpairs of the symmetric
// tridiagonal by divide and conquer (Cuppen 1981; Gu & Eisenstat 1995; LAPACK dstedc/dlaed*;
// linalg_eigen.h).
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
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "linalg_eigen.h"
#include "threadpool.h"

namespace randlab {
namespace linalg {
namespace {

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

}  // namespace

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

}  // namespace linalg
}  // namespace randlab

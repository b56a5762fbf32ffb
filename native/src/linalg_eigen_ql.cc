// Implements part of src/linalg/eigen.ts (symmetricEigen): the implicit QL iteration on a symmetric
// tridiagonal (EISPACK tql2, the algorithm of the TypeScript fallback's ml-matrix), used by the divide
// and conquer for blocks of at most 32 rows (linalg_eigen.h).
//
// The Givens rotations of the sweeps are recorded and applied to the eigenvector rows in batches,
// strip by strip over the columns, so a strip stays in cache across many sweeps; a full strip is
// rotated by code compiled for the active SIMD level.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg_eigen.h"
#include "simd_dispatch.h"
#include "threadpool.h"

namespace randlab {
namespace linalg {
namespace {

struct Rotation {
  Index i;  // rows i and i+1 of Z
  double c, s;
};

constexpr Index kStrip = 32;  // columns of Z per strip: n × 32 doubles stay in L2 across a batch
static_assert(kStrip % (4 * 8) == 0, "a strip is whole blocks of rotateColumns at every vector width");

// Applies the rotations in order to the 4·W columns [j0, j0 + 4·W) of z, as four vectors of W
// doubles (kDoublesPerVector) per row. Consecutive rotations of a QL sweep act on rows (i, i+1) then
// (i−1, i): the shared row stays in registers between them, so a rotation loads and stores one row
// instead of two.
template <int W>
void rotateColumns(double* z, Index n, Index j0, const Rotation* rotations, std::size_t count) {
  using Vector = typename DoubleVector<W>::type;
  constexpr int kVectors = 4;
  Vector carry[kVectors] = {};
  Index carryRow = -1;  // carry holds the current values of this row, not yet stored
  auto load = [&](Index row, Vector* out) {
    for (int v = 0; v < kVectors; ++v) std::memcpy(&out[v], z + row * n + j0 + v * W, sizeof(Vector));
  };
  auto store = [&](Index row, const Vector* in) {
    for (int v = 0; v < kVectors; ++v) std::memcpy(z + row * n + j0 + v * W, &in[v], sizeof(Vector));
  };
  for (std::size_t r = 0; r < count; ++r) {
    const Index i = rotations[r].i;
    const double c = rotations[r].c;
    const double s = rotations[r].s;
    Vector lo[kVectors], hi[kVectors];
    if (carryRow == i + 1) {
      for (int v = 0; v < kVectors; ++v) hi[v] = carry[v];
    } else {
      if (carryRow >= 0) store(carryRow, carry);
      load(i + 1, hi);
    }
    load(i, lo);
    for (int v = 0; v < kVectors; ++v) {
      const Vector newHi = s * lo[v] + c * hi[v];
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
      simdDispatch([&](auto level) {
        constexpr int kLanes = kDoublesPerVector<decltype(level)::value>;
        for (Index j = j0; j < j0 + kStrip; j += 4 * kLanes) {
          rotateColumns<kLanes>(z, n, j, rotations.data(), rotations.size());
        }
      });
    } else {
      rotatePartialStrip(z, n, j0, width, rotations.data(), rotations.size());
    }
  });
  rotations.clear();
}

}  // namespace

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

}  // namespace linalg
}  // namespace randlab

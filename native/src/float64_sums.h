// Infrastructure (no TypeScript reference): float64 sums of float32 data for the kernels.
//
// Sums of float data accumulated in double. The vectoriser will not reorder a floating-point sum,
// so these keep explicit vector accumulators: GCC/clang vector types of 8 doubles, which become one
// zmm, two ymm or four xmm registers depending on the target the caller is compiled for. Each sum
// runs two independent chains (16 lanes) to hide the add latency. Only arithmetic here: GCC lowers
// vector *comparisons* for the target of the function they are written in, before inlining, so a
// compare in such a helper would become per-lane branches even inside the AVX-512 copy.
#pragma once
#include <cstddef>
#include <cstring>

#include "simd_dispatch.h"

namespace randlab {

namespace lanes {
typedef float F32x8 __attribute__((vector_size(32), aligned(4)));
typedef double F64x8 __attribute__((vector_size(64), aligned(8)));  // no alignment assumed, in memory or not
constexpr std::ptrdiff_t kStep = 16;                                // floats consumed per iteration: two chains of 8

// Vector values stay inside inlined code: passing them to or from a real function would change
// the calling convention between targets (GCC's -Wpsabi), hence out-parameters.
RANDLAB_ALWAYS_INLINE void widen(const float* p, F64x8& out) {
  F32x8 v;
  std::memcpy(&v, p, sizeof v);
  out = __builtin_convertvector(v, F64x8);
}

// Σ of one or two per-element terms; lanes and a scalar tail, combined by total().
struct Sum {
  F64x8 chain0{}, chain1{};
  double tail = 0;
  RANDLAB_ALWAYS_INLINE double total() const {
    const F64x8 both = chain0 + chain1;
    double out = tail;
    for (int l = 0; l < 8; ++l) out += both[l];
    return out;
  }
};
}  // namespace lanes

// Adds Σ x[i] over [0, n) to sum.
RANDLAB_ALWAYS_INLINE void accumulateSum(const float* x, std::ptrdiff_t n, lanes::Sum& sum) {
  std::ptrdiff_t i = 0;
  for (; i + lanes::kStep <= n; i += lanes::kStep) {
    lanes::F64x8 x0, x1;
    lanes::widen(x + i, x0);
    lanes::widen(x + i + 8, x1);
    sum.chain0 += x0;
    sum.chain1 += x1;
  }
  for (; i < n; ++i) sum.tail += static_cast<double>(x[i]);
}

// Adds Σ (x[i] − shift) to sum and Σ (x[i] − shift)² to squares.
RANDLAB_ALWAYS_INLINE void accumulateMoments(const float* x, std::ptrdiff_t n, double shift, lanes::Sum& sum,
                                             lanes::Sum& squares) {
  std::ptrdiff_t i = 0;
  for (; i + lanes::kStep <= n; i += lanes::kStep) {
    lanes::F64x8 d0, d1;
    lanes::widen(x + i, d0);
    lanes::widen(x + i + 8, d1);
    d0 -= shift;
    d1 -= shift;
    sum.chain0 += d0;
    sum.chain1 += d1;
    squares.chain0 += d0 * d0;
    squares.chain1 += d1 * d1;
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    sum.tail += d;
    squares.tail += d * d;
  }
}

// Adds Σ g[i] to sum and Σ g[i]·(x[i] − shift) to products.
RANDLAB_ALWAYS_INLINE void accumulateProducts(const float* g, const float* x, std::ptrdiff_t n, double shift,
                                              lanes::Sum& sum, lanes::Sum& products) {
  std::ptrdiff_t i = 0;
  for (; i + lanes::kStep <= n; i += lanes::kStep) {
    lanes::F64x8 g0, g1, x0, x1;
    lanes::widen(g + i, g0);
    lanes::widen(g + i + 8, g1);
    lanes::widen(x + i, x0);
    lanes::widen(x + i + 8, x1);
    sum.chain0 += g0;
    sum.chain1 += g1;
    products.chain0 += g0 * (x0 - shift);
    products.chain1 += g1 * (x1 - shift);
  }
  for (; i < n; ++i) {
    const double gi = g[i];
    sum.tail += gi;
    products.tail += gi * (static_cast<double>(x[i]) - shift);
  }
}

RANDLAB_ALWAYS_INLINE double sumOf(const float* x, std::ptrdiff_t n) {
  lanes::Sum sum;
  accumulateSum(x, n, sum);
  return sum.total();
}

RANDLAB_ALWAYS_INLINE double sumOfSquares(const float* x, std::ptrdiff_t n) {
  lanes::Sum sum, squares;
  accumulateMoments(x, n, 0.0, sum, squares);
  return squares.total();
}

}  // namespace randlab

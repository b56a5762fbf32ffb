// Implements src/linalg/eigen.ts (symmetricEigen): A = V Λ Vᵀ in float64, exported as
// symmetricEigen(a, n), for the analysis's covariance matrices up to 3072×3072 (flattened CIFAR
// images), where a pure-JavaScript Jacobi/QL takes minutes and this takes seconds.
//
// In LAPACK's terms (dsytrd + dstedc + dormtr; the stages are declared in linalg_eigen.h):
//  1. Householder tridiagonalisation A = Q T Qᵀ (linalg_eigen_tridiagonal.cc);
//  2. divide and conquer on T (linalg_eigen_divide_conquer.cc; blocks of at most 32 by implicit QL,
//     linalg_eigen_ql.cc);
//  3. eigenvectors of A = Q · eigenvectors of T, the reflectors applied in blocks of 48 in compact-WY
//     form (I − V T Vᵀ, linalg_householder.cc), so that work is GEMM too.
// Accuracy is that of the backward-stable textbook algorithms: ‖AV − VΛ‖ ≈ ε·n·‖A‖.
//
// Layout: row-major float64 throughout. Eigenvectors are returned as rows: row i of `vectors` is the
// unit eigenvector of values[i], values ascending; each is signed so its largest-magnitude entry is
// positive (a deterministic choice, so images and tests do not flip between runs), as eigen.ts does.
// Pool threads never throw: errors are detected before or after parallel work.
#include "linalg_eigen.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_args.h"
#include "linalg_householder.h"

namespace randlab {
namespace linalg {
namespace {

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

}  // namespace
}  // namespace linalg

// symmetricEigen(a: Float64Array (n·n, symmetric; only the lower triangle is read), n) →
//   { values: Float64Array(n) ascending, vectors: Float64Array(n·n), row i = eigenvector of values[i] }
RANDLAB_KERNEL(symmetricEigen) {
  const auto [a, n] = linalg::readSquareMatrix(args);
  for (linalg::Index i = 0; i < n * n; ++i) {
    if (!std::isfinite(a[i])) args.fail("a has a non-finite entry at index " + std::to_string(i));
  }
  const Napi::Env env = args.env();
  Napi::Float64Array values = Napi::Float64Array::New(env, static_cast<std::size_t>(n));
  Napi::Float64Array vectors = Napi::Float64Array::New(env, static_cast<std::size_t>(n * n));
  if (!linalg::symmetricEigen(a, n, values.Data(), vectors.Data())) {
    Napi::Error::New(env, "symmetricEigen: the QL iteration did not converge").ThrowAsJavaScriptException();
    return args.undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("values", values);
  result.Set("vectors", vectors);
  return result;
}

}  // namespace randlab

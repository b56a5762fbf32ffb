// Implements src/linalg/matrix.ts (gemm) in float64: the interface of the GEMM exported as gemmF64 and
// the building block of the decompositions (linalg_eigen*.cc, linalg_orthogonal.cc), whose work is
// mostly GEMM. Row-major throughout.
#pragma once
#include <cstdint>

#include "cpu_features.h"
#include "matrix_operand.h"

namespace randlab {

class KernelArgs;

namespace linalg {

using Index = std::int64_t;
using Operand = MatrixOperand<double>;

// Doubles per vector register at each SIMD level. The hot loops, dispatched with simdDispatch, use
// explicit vectors of this width: GCC keeps a vector wider than the target's registers in memory,
// so every operation on it went through the stack (8-double vectors ran the GEMM at 5.7 GFLOP/s
// per core on AVX2 and 6.3 on SSE2, against 25 and 14 with these widths).
template <SimdLevel L>
constexpr int kDoublesPerVector = L == SimdLevel::Avx512 ? 8
                                  : L == SimdLevel::Avx2 ? 4
                                                         : 2;

// W doubles in one vector register.
template <int W>
struct DoubleVector {
  typedef double type __attribute__((vector_size(W * sizeof(double))));
};

// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C (leading dimension ldc). beta == 0 never
// reads C. Blocks of C are split over the thread pool when the product is large enough.
void gemm(Index m, Index n, Index k, double alpha, Operand a, Operand b, double beta, double* c, Index ldc);

// The arguments (a: Float64Array, n) of an export that takes a square n × n matrix, checked.
struct SquareMatrix {
  const double* data;
  Index n;
};
SquareMatrix readSquareMatrix(const KernelArgs& args);

}  // namespace linalg
}  // namespace randlab

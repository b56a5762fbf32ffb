// Implements src/linalg/matrix.ts (gemm) in float64: the interface of the GEMM exported as gemmF64 and
// the building block of the decompositions (linalg_eigen*.cc, linalg_orthogonal.cc), whose work is
// mostly GEMM. Row-major throughout.
#pragma once
#include <cstdint>

#include "matrix_operand.h"

namespace randlab {

class KernelArgs;

namespace linalg {

using Index = std::int64_t;
using Operand = MatrixOperand<double>;

// Eight doubles, the vector type of the hot loops: one zmm, two ymm or four xmm registers,
// depending on the SIMD level the loop is dispatched at (simd_dispatch.h).
typedef double Vec8 __attribute__((vector_size(64)));

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

// Infrastructure (no TypeScript reference).
//
// A GEMM operand: a row-major matrix, used as stored or transposed. Shared by the float32 GEMM
// (gemm.h, ConstMatrix) and the float64 one (linalg_matrix.h).
#pragma once
#include <cstdint>

namespace randlab {

// If `trans` is set, the operand used is the transpose of the stored matrix, i.e. element (r, c)
// of op(X) is data[c * ld + r]; otherwise it is data[r * ld + c].
template <typename T>
struct MatrixOperand {
  const T* data;
  std::int64_t ld;
  bool trans;

  T at(std::int64_t r, std::int64_t c) const { return trans ? data[c * ld + r] : data[r * ld + c]; }
};

}  // namespace randlab
